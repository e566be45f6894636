package image

import (
	"time"

	"github.com/sirupsen/logrus"
)

// EventType says what kind of change an Event reports.
type EventType int

// The event types. Failure types (PullError, PushError) carry the error in Event.Error;
// every other type is written only after the change it reports has succeeded.
const (
	EventPull EventType = iota + 1
	EventPullError
	EventPush
	EventPushError
	EventTag
	EventUntag
	EventRemove
	EventPrune
	EventSave
	EventLoad
	EventImport
)

var eventTypeNames = map[EventType]string{
	EventPull:      "pull",
	EventPullError: "pull-error",
	EventPush:      "push",
	EventPushError: "push-error",
	EventTag:       "tag",
	EventUntag:     "untag",
	EventRemove:    "remove",
	EventPrune:     "prune",
	EventSave:      "save",
	EventLoad:      "load",
	EventImport:    "import",
}

// String returns the type's name as podman's events show it ("pull", "untag", ...),
// or "unknown" for a value that is not one of the constants.
func (t EventType) String() string {
	if s, ok := eventTypeNames[t]; ok {
		return s
	}
	return "unknown"
}

// Event reports one change to the store.
type Event struct {
	// ID is the full ID of the image the event is about.
	ID string
	// Name is the image name the change concerns (the tag added or removed, the name an image
	// was loaded with), or "" when there is none.
	Name string
	// Time is when the change was completed.
	Time time.Time
	// Type says what happened.
	Type EventType
	// Error is set for failure types only.
	Error error
}

// Eventer receives the Runtime's events. Write is called synchronously, after the change has
// been committed to the store; an error it returns is logged at debug level and never fails
// the operation. Implementations must be safe for concurrent use.
type Eventer interface {
	Write(Event) error
}

// noopEventer is the default Eventer: it drops every event.
type noopEventer struct{}

func (noopEventer) Write(Event) error { return nil }

// emit writes one event through the Runtime's Eventer; it is the only place events leave the
// library.
func (r *Runtime) emit(typ EventType, id, name string, err error) {
	ev := Event{ID: id, Name: name, Time: time.Now(), Type: typ, Error: err}
	if werr := r.eventer.Write(ev); werr != nil {
		logrus.Debugf("writing %s event for image %s: %v", typ, id, werr)
	}
}
