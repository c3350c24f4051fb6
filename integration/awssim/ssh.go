package awssim

import (
	"fmt"
	"net"
	"strconv"

	"golang.org/x/crypto/ssh"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/sshhost"
)

// Per-instance SSH hosts: while a Linux instance is running (and
// Options.SSH is set) an sshhost.Host listens on its private and public
// loopback addresses, accepting the launch key pair for the image's OS user
// and keys pushed with EC2 Instance Connect.

// linuxUser is the OS user of the catalogue's Linux images (Amazon Linux).
const linuxUser = "ec2-user"

// startSSHHostLocked starts the instance's SSH host. Binding loopback
// addresses is fast, so it is done under the lock; a failure (port taken:
// use Port 0 when several simulators run at once) leaves the instance
// without SSH, as a broken AMI would, and is kept for SSHError.
func (s *Sim) startSSHHostLocked(inst *Instance) {
	o := s.opts.SSH
	if o == nil || inst.Platform == "windows" || s.b.sshHosts[inst.ID] != nil || inst.PrivateIP == "" {
		return
	}
	auth := sshhost.UserAuth{}
	if kp := s.keyPairs[inst.KeyName]; kp != nil {
		if pub, _, _, _, err := ssh.ParseAuthorizedKey(kp.PublicKey); err == nil {
			auth.AuthorizedKeys = append(auth.AuthorizedKeys, pub)
		}
	}
	port := o.Port
	if port == 0 {
		port = s.b.sshPort // 0 until the first host picks one
	}
	addrs := []string{net.JoinHostPort(inst.PrivateIP, strconv.Itoa(port))}
	if inst.PublicIP != "" {
		addrs = append(addrs, net.JoinHostPort(inst.PublicIP, strconv.Itoa(port)))
	}
	clk := s.clock
	h, err := sshhost.Start(addrs, sshhost.Options{
		Shell: o.Shell,
		Users: map[string]sshhost.UserAuth{linuxUser: auth},
		Now:   clk.Now,
	})
	if err != nil {
		s.b.sshErr = fmt.Errorf("awssim: SSH host of %s: %w", inst.ID, err)
		return
	}
	if s.b.sshHosts == nil {
		s.b.sshHosts = map[string]*sshhost.Host{}
	}
	s.b.sshHosts[inst.ID] = h
	s.b.sshPort = h.Port()
}

// stopSSHHostLocked drops the host's connections and kills its commands
// without waiting for them (it runs under the lock).
func (s *Sim) stopSSHHostLocked(inst *Instance) {
	if h := s.b.sshHosts[inst.ID]; h != nil {
		h.Stop()
		delete(s.b.sshHosts, inst.ID)
	}
}

// SSHHost returns the running SSH host of an instance, or nil (no SSH
// configured, Windows, not running).
func (s *Sim) SSHHost(instanceID string) *sshhost.Host {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.sshHosts[instanceID]
}

// SSHPort is the port every instance's SSH host listens on (Options.SSH.Port,
// or the one picked by the first host when that is 0); 0 before any host.
func (s *Sim) SSHPort() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.SSH != nil && s.opts.SSH.Port != 0 {
		return s.opts.SSH.Port
	}
	return s.b.sshPort
}

// SSHError is the last failure to start an instance's SSH host, or nil.
func (s *Sim) SSHError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.sshErr
}
