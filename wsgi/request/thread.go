package request

import "time"

// BusyThread is one request thread serving a request now, as the live view (/debug/threads,
// pyhost top) shows it. The serving process reads it from its thread table; the supervisor and
// pyhost top read it back from JSON.
type BusyThread struct {
	Thread           int       `json:"thread"`
	Method           string    `json:"method"`
	Path             string    `json:"path"`
	RequestID        string    `json:"request_id"`
	Started          time.Time `json:"started"` // reached the handler (queue wait included)
	RunningSeconds   float64   `json:"running_seconds"`
	ApplicationGroup string    `json:"application_group"`
	Interpreter      int       `json:"interpreter"`
	// With stacks: the Python stack of the thread, or why it could not be taken.
	Stack      string `json:"stack,omitempty"`
	StackError string `json:"stack_error,omitempty"`
}
