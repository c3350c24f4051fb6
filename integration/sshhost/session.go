package sshhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// waitDelay bounds how long a finished command's background children may
// keep its output pipes open before the session ends anyway.
const waitDelay = 2 * time.Second

// serveSession answers one session channel: env and pty-req are accepted
// (the pty is ignored: commands run without a terminal), exec runs
// `Shell -c command`, shell runs Shell reading commands from stdin.
// A session lives as long as the host (h.ctx), not its caller.
//
//nolint:contextcheck // started from whatever call booted the instance; cancelled by Close
func (h *Host) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	ctx, cancel := context.WithCancel(h.ctx)
	var copies sync.WaitGroup
	defer func() {
		cancel() // client went away or host closed: kill the command
		_ = ch.Close()
		copies.Wait()
	}()

	var env []string
	var done chan error // set once a command runs
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				return // channel closed by the client or the connection dropped
			}
			switch req.Type {
			case "env":
				var kv struct{ Name, Value string }
				if ssh.Unmarshal(req.Payload, &kv) != nil {
					reply(req, false)
					continue
				}
				env = append(env, kv.Name+"="+kv.Value)
				reply(req, true)
			case "pty-req", "window-change":
				reply(req, true)
			case "exec", "shell":
				if done != nil {
					reply(req, false) // one command per session
					continue
				}
				var args []string
				if req.Type == "exec" {
					var c struct{ Command string }
					if ssh.Unmarshal(req.Payload, &c) != nil {
						reply(req, false)
						continue
					}
					h.recordCommand(c.Command)
					args = []string{"-c", c.Command}
				}
				done = h.run(ctx, ch, env, args, &copies)
				reply(req, true)
			default: // subsystem (sftp), signal, x11-req, ...
				reply(req, false)
			}
		case err := <-done:
			_ = ch.CloseWrite()
			sendExit(ch, err)
			return
		}
	}
}

// run starts the shell with stdio wired to the channel and returns a channel
// that receives the command's Wait result.
func (h *Host) run(ctx context.Context, ch ssh.Channel, env, args []string, wg *sync.WaitGroup) chan error {
	done := make(chan error, 1)
	cmd := exec.CommandContext(ctx, h.opts.Shell, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	cmd.WaitDelay = waitDelay
	killProcessGroup(cmd)
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "%s: %v\n", h.opts.Shell, err)
		done <- errStartFailed
		return done
	}
	// Not part of Wait: a client that never closes stdin must not keep
	// the session open after the command exits.
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	go func() { done <- cmd.Wait() }()
	return done
}

var errStartFailed = errors.New("command could not start")

// sendExit reports how the command ended, as OpenSSH does: exit-status for
// a normal exit, exit-signal when it was killed.
func sendExit(ch ssh.Channel, err error) {
	status := 0
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		if sig := signalName(exitErr); sig != "" {
			_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}{Signal: sig}))
			return
		}
		status = exitErr.ExitCode()
	case errors.Is(err, errStartFailed):
		status = 127
	}
	// Anything else (exec.ErrWaitDelay: exited 0, but children held the
	// output pipes) counts as success.
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
}

func reply(req *ssh.Request, ok bool) {
	if req.WantReply {
		_ = req.Reply(ok, nil)
	}
}
