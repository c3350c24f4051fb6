package sshhost

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeClock is a settable clock for temporary-key expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func startHost(t *testing.T, opts Options) *Host {
	t.Helper()
	h, err := Start([]string{"127.0.0.1:0", "127.0.0.2:0"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func dial(addr, user string, auth ssh.AuthMethod) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{auth},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         5 * time.Second,
	})
}

func run(t *testing.T, c *ssh.Client, cmd string) (stdout, stderr string, err error) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var o, e bytes.Buffer
	sess.Stdout, sess.Stderr = &o, &e
	err = sess.Run(cmd)
	return o.String(), e.String(), err
}

func TestAuthentication(t *testing.T) {
	good, other, temp := newSigner(t), newSigner(t), newSigner(t)
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := startHost(t, Options{
		Users: map[string]UserAuth{
			"ec2-user":      {AuthorizedKeys: []ssh.PublicKey{good.PublicKey()}},
			"Administrator": {Password: "s3cret"},
		},
		Now: clk.Now,
	})
	if !h.AuthorizeTemporary("ec2-user", temp.PublicKey(), clk.Now().Add(60*time.Second)) {
		t.Fatal("AuthorizeTemporary: user ec2-user should exist")
	}
	if h.AuthorizeTemporary("nobody", temp.PublicKey(), clk.Now().Add(60*time.Second)) {
		t.Fatal("AuthorizeTemporary: user nobody should not exist")
	}

	tests := []struct {
		name    string
		user    string
		auth    ssh.AuthMethod
		advance time.Duration
		ok      bool
	}{
		{"static key", "ec2-user", ssh.PublicKeys(good), 0, true},
		{"wrong key", "ec2-user", ssh.PublicKeys(other), 0, false},
		{"wrong user", "root", ssh.PublicKeys(good), 0, false},
		{"password", "Administrator", ssh.Password("s3cret"), 0, true},
		{"wrong password", "Administrator", ssh.Password("nope"), 0, false},
		{"no password set", "ec2-user", ssh.Password(""), 0, false},
		{"temporary key before expiry", "ec2-user", ssh.PublicKeys(temp), 59 * time.Second, true},
		{"temporary key after expiry", "ec2-user", ssh.PublicKeys(temp), time.Second, false},
		{"static key after temporary expiry", "ec2-user", ssh.PublicKeys(good), 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.Add(tc.advance)
			for _, addr := range h.Addrs() {
				c, err := dial(addr, tc.user, tc.auth)
				if tc.ok != (err == nil) {
					t.Fatalf("dial %s: ok=%v, err=%v", addr, tc.ok, err)
				}
				if c != nil {
					c.Close()
				}
			}
		})
	}
}

func TestAddrsSharePort(t *testing.T) {
	h := startHost(t, Options{})
	a := h.Addrs()
	if len(a) != 2 || !strings.HasPrefix(a[0], "127.0.0.1:") || !strings.HasPrefix(a[1], "127.0.0.2:") {
		t.Fatalf("Addrs = %v", a)
	}
	if strings.TrimPrefix(a[0], "127.0.0.1") != strings.TrimPrefix(a[1], "127.0.0.2") {
		t.Fatalf("ports differ: %v", a)
	}
}

func TestExec(t *testing.T) {
	key := newSigner(t)
	h := startHost(t, Options{Users: map[string]UserAuth{"ec2-user": {}}})
	h.AddAuthorizedKey("ec2-user", key.PublicKey())
	c, err := dial(h.Addrs()[0], "ec2-user", ssh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	tests := []struct {
		cmd            string
		stdout, stderr string
		status         int
	}{
		{"echo 'hello world'", "hello world\n", "", 0},
		{"echo oops >&2; exit 3", "", "oops\n", 3},
		{"printf a; printf b >&2; printf c", "ac", "b", 0},
		{"false", "", "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			stdout, stderr, err := run(t, c, tc.cmd)
			status := 0
			if exitErr, ok := errors.AsType[*ssh.ExitError](err); ok {
				status = exitErr.ExitStatus()
			} else if err != nil {
				t.Fatal(err)
			}
			if stdout != tc.stdout || stderr != tc.stderr || status != tc.status {
				t.Fatalf("got stdout %q stderr %q status %d; want %q %q %d", stdout, stderr, status, tc.stdout, tc.stderr, tc.status)
			}
		})
	}
	got := h.Commands()
	if len(got) != len(tests) || got[0] != tests[0].cmd {
		t.Fatalf("Commands() = %q", got)
	}
}

func TestStdinEnvPtyAndShell(t *testing.T) {
	key := newSigner(t)
	h := startHost(t, Options{Users: map[string]UserAuth{"ec2-user": {AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}}}})
	c, err := dial(h.Addrs()[1], "ec2-user", ssh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	t.Run("stdin and env with pty", func(t *testing.T) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if err := sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		if err := sess.Setenv("GREETING", "hi"); err != nil {
			t.Fatal(err)
		}
		sess.Stdin = strings.NewReader("from stdin")
		out, err := sess.Output(`echo "$GREETING"; cat`)
		if err != nil || string(out) != "hi\nfrom stdin" {
			t.Fatalf("out %q, err %v", out, err)
		}
	})
	t.Run("shell", func(t *testing.T) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		sess.Stdin = strings.NewReader("echo in-shell\nexit 4\n")
		var out bytes.Buffer
		sess.Stdout = &out
		if err := sess.Shell(); err != nil {
			t.Fatal(err)
		}
		err = sess.Wait()
		if exitErr, ok := errors.AsType[*ssh.ExitError](err); !ok || exitErr.ExitStatus() != 4 || out.String() != "in-shell\n" {
			t.Fatalf("out %q, err %v", out.String(), err)
		}
	})
	t.Run("stdin never closed", func(t *testing.T) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if _, err := sess.StdinPipe(); err != nil { // held open
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- sess.Run("true") }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("session did not end after the command exited")
		}
	})
}

func TestCloseKillsSessions(t *testing.T) {
	key := newSigner(t)
	h, err := Start([]string{"127.0.0.1:0"}, Options{Users: map[string]UserAuth{"ec2-user": {AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := dial(h.Addrs()[0], "ec2-user", ssh.PublicKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	sess.Stdout = writerFunc(func(p []byte) (int, error) {
		select {
		case <-started:
		default:
			close(started)
		}
		return len(p), nil
	})
	done := make(chan error, 1)
	go func() { done <- sess.Run("echo up; sleep 60") }()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("command did not start")
	}

	closed := make(chan struct{})
	go func() { h.Close(); close(closed) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("session survived Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("session still running after Close")
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := dial(h.Addrs()[0], "ec2-user", ssh.PublicKeys(key)); err == nil {
		t.Fatal("dial succeeded after Close")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
