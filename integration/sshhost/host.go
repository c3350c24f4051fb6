// Package sshhost is a small SSH server standing in for one simulated EC2
// instance: it listens on the instance's loopback addresses, authenticates
// OS users by static keys (the launch key pair), temporary keys (EC2
// Instance Connect, 60 s on the simulated clock) or passwords, and runs exec
// requests through a local shell so tests can prove a job really ran.
// Commands run on this machine as the current user: simulated instances
// share its filesystem.
package sshhost

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// UserAuth is how one OS user may log in.
type UserAuth struct {
	AuthorizedKeys []ssh.PublicKey
	Password       string // "" disables password login
}

// Options configure a Host.
type Options struct {
	// HostKey identifies the host; default DefaultHostKey(). Share one key
	// across hosts: clients of simulated instances ignore host keys anyway.
	HostKey ssh.Signer
	// Shell runs commands as `Shell -c command`; default /bin/sh.
	Shell string
	// Users are the OS users that exist on the host. Temporary keys are only
	// accepted for existing users, as on a real instance.
	Users map[string]UserAuth
	// Now is the clock temporary keys expire on; default time.Now.
	Now func() time.Time
}

// Host is one running SSH server.
type Host struct {
	opts      Options
	config    *ssh.ServerConfig
	listeners []net.Listener

	ctx    context.Context // cancelled by Close: kills running commands
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	users     map[string]*user
	conns     map[*ssh.ServerConn]struct{}
	commands  []string
	closed    bool
	closeOnce sync.Once
}

type user struct {
	keys      [][]byte // marshalled wire form
	password  string
	temporary []temporaryKey
}

type temporaryKey struct {
	key     []byte
	expires time.Time
}

var (
	defaultKeyOnce sync.Once
	defaultKey     ssh.Signer
)

// DefaultHostKey returns an ed25519 host key generated once per process.
func DefaultHostKey() ssh.Signer {
	defaultKeyOnce.Do(func() {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(fmt.Sprintf("sshhost: generate host key: %v", err))
		}
		defaultKey, err = ssh.NewSignerFromKey(priv)
		if err != nil {
			panic(fmt.Sprintf("sshhost: host key signer: %v", err))
		}
	})
	return defaultKey
}

// Start listens on every address (host:port) and serves until Close. When
// the port is 0, the port picked for the first address is used for the rest,
// so an instance's private and public address share a port as on EC2.
func Start(addrs []string, opts Options) (*Host, error) {
	if len(addrs) == 0 {
		return nil, errors.New("sshhost: no listen address")
	}
	if opts.HostKey == nil {
		opts.HostKey = DefaultHostKey()
	}
	if opts.Shell == "" {
		opts.Shell = "/bin/sh"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Host{
		opts:  opts,
		users: map[string]*user{},
		conns: map[*ssh.ServerConn]struct{}{},
	}
	for name, auth := range opts.Users {
		u := &user{password: auth.Password}
		for _, k := range auth.AuthorizedKeys {
			u.keys = append(u.keys, k.Marshal())
		}
		h.users[name] = u
	}
	h.config = &ssh.ServerConfig{
		PublicKeyCallback: h.checkKey,
		PasswordCallback:  h.checkPassword,
		ServerVersion:     "SSH-2.0-OpenSSH_9.6 awssim",
	}
	h.config.AddHostKey(opts.HostKey)
	h.ctx, h.cancel = context.WithCancel(context.Background())

	port := ""
	for _, addr := range addrs {
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("sshhost: %w", err)
		}
		if p == "0" && port != "" {
			p = port
		}
		l, err := new(net.ListenConfig).Listen(h.ctx, "tcp", net.JoinHostPort(host, p))
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("sshhost: %w", err)
		}
		port = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		h.listeners = append(h.listeners, l)
	}
	for _, l := range h.listeners {
		h.wg.Add(1)
		go h.accept(l)
	}
	return h, nil
}

// Addrs are the addresses the host listens on (with the actual port).
func (h *Host) Addrs() []string {
	out := make([]string, len(h.listeners))
	for i, l := range h.listeners {
		out[i] = l.Addr().String()
	}
	return out
}

// Port is the port shared by all listeners.
func (h *Host) Port() int { return h.listeners[0].Addr().(*net.TCPAddr).Port }

// AddAuthorizedKey adds a permanent key for user, creating the user if needed.
func (h *Host) AddAuthorizedKey(name string, key ssh.PublicKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[name]
	if u == nil {
		u = &user{}
		h.users[name] = u
	}
	u.keys = append(u.keys, key.Marshal())
}

// AuthorizeTemporary accepts key for an existing user until expires (on
// Options.Now), as the EC2 Instance Connect agent does with pushed keys.
// Established sessions survive expiry. It reports whether the user exists.
func (h *Host) AuthorizeTemporary(name string, key ssh.PublicKey, expires time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[name]
	if u == nil {
		return false
	}
	now := h.opts.Now()
	kept := u.temporary[:0]
	for _, t := range u.temporary {
		if t.expires.After(now) {
			kept = append(kept, t)
		}
	}
	kept = append(kept, temporaryKey{key: key.Marshal(), expires: expires})
	u.temporary = kept
	return true
}

// Commands returns the exec commands run so far, in order.
func (h *Host) Commands() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.commands...)
}

// Stop stops listening, drops every connection and kills running commands,
// as an instance that terminates, without waiting for them to wind down
// (safe to call under a caller's lock).
func (h *Host) Stop() {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		conns := h.conns
		h.conns = map[*ssh.ServerConn]struct{}{}
		h.mu.Unlock()

		for _, l := range h.listeners {
			_ = l.Close()
		}
		h.cancel()
		for c := range conns {
			_ = c.Close()
		}
	})
}

// Close is Stop, then waits until every connection and command has ended.
func (h *Host) Close() error {
	h.Stop()
	h.wg.Wait()
	return nil
}

func (h *Host) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	wire := key.Marshal()
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[meta.User()]
	if u == nil {
		return nil, fmt.Errorf("unknown user %q", meta.User())
	}
	for _, k := range u.keys {
		if subtle.ConstantTimeCompare(k, wire) == 1 {
			return nil, nil
		}
	}
	now := h.opts.Now()
	for _, t := range u.temporary {
		if t.expires.After(now) && subtle.ConstantTimeCompare(t.key, wire) == 1 {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("key not authorized for %q", meta.User())
}

func (h *Host) checkPassword(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.users[meta.User()]
	if u == nil || u.password == "" || subtle.ConstantTimeCompare([]byte(u.password), password) != 1 {
		return nil, fmt.Errorf("password rejected for %q", meta.User())
	}
	return nil, nil
}

func (h *Host) accept(l net.Listener) {
	defer h.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return // closed
		}
		h.wg.Add(1)
		go h.serveConn(c)
	}
}

// handshakeTimeout bounds a client that connects and says nothing.
const handshakeTimeout = 10 * time.Second

func (h *Host) serveConn(c net.Conn) {
	defer h.wg.Done()
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(c, h.config)
	if err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = sc.Close()
		return
	}
	h.conns[sc] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.conns, sc)
		h.mu.Unlock()
		_ = sc.Close()
	}()

	// Global requests (keepalive@openssh.com, tcpip-forward) are refused.
	go ssh.DiscardRequests(reqs)

	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			h.serveSession(ch, chReqs)
		}()
	}
	// chans closes when the connection drops; sessions notice via their
	// channel and their commands get killed below.
	sessions.Wait()
}

func (h *Host) recordCommand(cmd string) {
	h.mu.Lock()
	h.commands = append(h.commands, cmd)
	h.mu.Unlock()
}
