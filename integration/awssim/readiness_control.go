package awssim

import (
	"net/http"
	"time"
)

// HTTP control for boot readiness (see control.go):
//
//	POST /_sim/status-checks {"delay":"90s"}            Options.StatusCheckDelay
//	POST /_sim/user-data     {"delay":"2m"}             Options.UserDataDelay
//	POST /_sim/user-data     {"never":true}             instances never complete their launch hooks
//	POST /_sim/impaired      {"instance_id":"i-…","impaired":true}  its status checks fail
//	GET  /_sim/lifecycle-hooks?group=NAME               the group's hooks
var readinessControlRoutes = []controlRoute{
	{"POST", "/_sim/status-checks", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Delay jsonDuration `json:"delay"`
		}](hr)
		if err != nil {
			return nil, err
		}
		s.SetStatusCheckDelay(time.Duration(b.Delay))
		return nil, nil
	}},
	{"POST", "/_sim/user-data", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Delay jsonDuration `json:"delay"`
			Never bool         `json:"never"`
		}](hr)
		if err != nil {
			return nil, err
		}
		d := time.Duration(b.Delay)
		if b.Never {
			d = -1
		}
		s.SetUserDataDelay(d)
		return nil, nil
	}},
	{"POST", "/_sim/impaired", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			InstanceID string `json:"instance_id"`
			Impaired   bool   `json:"impaired"`
		}](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.SetStatusImpaired(b.InstanceID, b.Impaired)
	}},
	{"GET", "/_sim/lifecycle-hooks", func(s *Sim, hr *http.Request) (any, error) {
		return s.LifecycleHooks(hr.URL.Query().Get("group"))
	}},
}
