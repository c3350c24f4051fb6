package awssim

import "net/http"

// HTTP control for queues, event routing and SSH (see control.go):
//
//	POST /_sim/queues          {"name":"q"}                          → {"url":…}
//	POST /_sim/queues/messages {"queue":"q","body":"…"}              raw message
//	POST /_sim/subscriptions   {"queue":"q","detail_types":["…"]}    route events (none = all)
//	POST /_sim/event-delivery  {"duplicate":true,"reorder":false}
//	GET  /_sim/ssh                                                    → {"port":…}
var eventControlRoutes = []controlRoute{
	{"POST", "/_sim/queues", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Name string `json:"name"`
		}](hr)
		if err != nil {
			return nil, err
		}
		return map[string]string{"url": s.CreateQueue(b.Name)}, nil
	}},
	{"POST", "/_sim/queues/messages", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Queue string `json:"queue"`
			Body  string `json:"body"`
		}](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.SendRawMessage(b.Queue, b.Body)
	}},
	{"POST", "/_sim/subscriptions", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Queue       string   `json:"queue"`
			DetailTypes []string `json:"detail_types,omitempty"`
		}](hr)
		if err != nil {
			return nil, err
		}
		return nil, s.SubscribeQueue(b.Queue, b.DetailTypes...)
	}},
	{"POST", "/_sim/event-delivery", func(s *Sim, hr *http.Request) (any, error) {
		b, err := decode[struct {
			Duplicate bool `json:"duplicate"`
			Reorder   bool `json:"reorder"`
		}](hr)
		if err != nil {
			return nil, err
		}
		s.SetEventDelivery(b.Duplicate, b.Reorder)
		return nil, nil
	}},
	{"GET", "/_sim/ssh", func(s *Sim, _ *http.Request) (any, error) {
		return map[string]int{"port": s.SSHPort()}, nil
	}},
}
