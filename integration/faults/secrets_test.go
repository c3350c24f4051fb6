package faults_test

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// Scenarios that hand out credentials: the connect details must reach the
// runner and nothing of them the logs (env.finish scans for them).

func init() {
	scenarios = append(scenarios,
		scenario{"instance connect keys are never logged", func(t *testing.T, s *suiteStats) {
			e := newEnv(t, awssim.Options{}, nil)
			e.start()
			e.request(2)
			e.waitRunning(2)
			for _, i := range e.run.prov.Instances() {
				info, err := i.ConnectInfo(ctx(t))
				if err != nil || len(info.Key) == 0 {
					t.Fatalf("ConnectInfo %s: %v (key %d bytes)", i.ID(), err, len(info.Key))
				}
				e.secrets = append(e.secrets, pemBody(info.Key)...)
			}
			e.finish(s)
		}},
		scenario{"Windows passwords are never logged", func(t *testing.T, s *suiteStats) {
			var launchKey []byte
			e := newEnv(t, awssim.Options{PasswordDelay: 20 * time.Second}, nil, func(sim *awssim.Sim, spec *awssim.GroupSpec) {
				var err error
				if launchKey, err = sim.CreateKeyPair("windows-runner"); err != nil {
					t.Fatal(err)
				}
				spec.ImageID, spec.KeyName = awssim.ImageWindowsAMD64, "windows-runner"
			})
			e.connector.OS, e.connector.Key = "windows", launchKey
			e.secrets = append(e.secrets, pemBody(launchKey)...)
			e.start()
			e.request(1)
			e.waitRunning(1)
			var info provider.ConnectInfo
			e.eventually("the Windows password", func() error {
				var err error
				info, err = e.run.prov.Instances()[0].ConnectInfo(ctx(t))
				return err
			})
			if len(info.Password) < 8 {
				t.Fatalf("password %d characters", len(info.Password))
			}
			e.secrets = append(e.secrets, info.Password)
			e.finish(s)
		}},
	)
}

// pemBody: the base64 lines of a PEM block, each a secret in itself.
func pemBody(pem []byte) []string {
	var out []string
	for _, l := range strings.Split(string(pem), "\n") {
		if l = strings.TrimSpace(l); len(l) >= 16 && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}
