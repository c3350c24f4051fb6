package workload

import (
	"encoding/json"
	"io"
)

// WriteEvents writes the events as JSON lines, for replaying a report or
// checking its figures.
func WriteEvents(w io.Writer, events []Event) error {
	enc := json.NewEncoder(w)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}
