package image

import (
	"sync"
	"testing"
	"time"

	"github.com/pkg/errors"
	"go.podman.io/storage"
)

func TestEventTypeString(t *testing.T) {
	// The names podman's events use (SEMANTICS §11).
	tests := []struct {
		typ  EventType
		want string
	}{
		{EventPull, "pull"},
		{EventPullError, "pull-error"},
		{EventPush, "push"},
		{EventPushError, "push-error"},
		{EventTag, "tag"},
		{EventUntag, "untag"},
		{EventRemove, "remove"},
		{EventPrune, "prune"},
		{EventSave, "save"},
		{EventLoad, "load"},
		{EventImport, "import"},
		{EventType(0), "unknown"},
		{EventImport + 1, "unknown"},
		{EventType(-1), "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.typ.String(); got != tt.want {
				t.Errorf("EventType(%d).String() = %q, want %q", int(tt.typ), got, tt.want)
			}
		})
	}
}

// observed is what an observer saw when an event arrived.
type observed struct {
	event Event
	// held reports whether the event's image had the event's name in the store at the time.
	held bool
}

// observer is an Eventer that looks at the store when each event arrives, to check that the
// change was committed before the event was written.
type observer struct {
	store storage.Store
	err   error // returned by every Write

	mu   sync.Mutex // guards seen
	seen []observed
}

func (o *observer) Write(e Event) error {
	held := false
	if s, err := o.store.Image(e.ID); err == nil {
		held = hasName(s, e.Name)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, observed{event: e, held: held})
	return o.err
}

func (o *observer) take() []observed {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.seen
	o.seen = nil
	return out
}

// newObservedRuntime returns a Runtime over a store holding tiny and tiny-whiteout, whose
// events go to an observer whose Write returns writeErr.
func newObservedRuntime(t *testing.T, writeErr error) (*Runtime, *observer) {
	t.Helper()
	base, _ := newTestRuntime(t)
	mustLoad(t, base, "tiny.docker.tar", "tiny-whiteout.docker.tar")
	obs := &observer{store: base.Store(), err: writeErr}
	rt, err := NewRuntime(base.Store(), &RuntimeOptions{Eventer: obs, SystemContext: base.SystemContext()})
	if err != nil {
		t.Fatal(err)
	}
	return rt, obs
}

// TestEventsAfterCommit: when a tag event arrives the name is already in the store; when an
// untag event arrives it is already gone; each event carries its time, type, ID and name.
func TestEventsAfterCommit(t *testing.T) {
	rt, obs := newObservedRuntime(t, nil)
	a := mustLookup(t, rt, recordedIDDigest(t, "tiny").ID)
	b := mustLookup(t, rt, recordedIDDigest(t, "tiny-whiteout").ID)

	start := time.Now()
	if _, err := a.Tag("quay.io/ev:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Tag("quay.io/ev:1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Untag("quay.io/ev:1"); err != nil {
		t.Fatal(err)
	}
	end := time.Now()

	want := []observed{
		{Event{Type: EventTag, ID: a.ID(), Name: "quay.io/ev:1"}, true},
		{Event{Type: EventTag, ID: b.ID(), Name: "quay.io/ev:1"}, true},
		{Event{Type: EventUntag, ID: a.ID(), Name: "quay.io/ev:1"}, false},
		{Event{Type: EventUntag, ID: b.ID(), Name: "quay.io/ev:1"}, false},
	}
	got := obs.take()
	if len(got) != len(want) {
		t.Fatalf("got %d events %+v, want %d", len(got), got, len(want))
	}
	for k, g := range got {
		e := g.event
		if e.Time.Before(start) || e.Time.After(end) {
			t.Errorf("event %d: time %v outside the call (%v to %v)", k, e.Time, start, end)
		}
		if e.Error != nil {
			t.Errorf("event %d: Error = %v on a success", k, e.Error)
		}
		if k > 0 && e.Time.Before(got[k-1].event.Time) {
			t.Errorf("event %d is older than event %d", k, k-1)
		}
		e.Time = time.Time{}
		if e != want[k].event || g.held != want[k].held {
			t.Errorf("event %d = %+v (name held: %v), want %+v (name held: %v)", k, e, g.held, want[k].event, want[k].held)
		}
	}
}

// TestNoEventOnFailure: a Tag or Untag that fails writes nothing.
func TestNoEventOnFailure(t *testing.T) {
	rt, obs := newObservedRuntime(t, nil)
	img := mustLookup(t, rt, "tiny")
	tiny := recordedIDDigest(t, "tiny")
	failures := []struct {
		name string
		do   func() error
	}{
		{"tag invalid", func() error { _, err := img.Tag("Bad"); return err }},
		{"tag digest", func() error { _, err := img.Tag("tiny@" + tiny.Digest); return err }},
		{"untag invalid", func() error { return img.Untag("a//b") }},
		{"untag unknown name", func() error { return img.Untag("never-had") }},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			if err := f.do(); err == nil {
				t.Fatal("no error")
			}
			if got := obs.take(); len(got) != 0 {
				t.Errorf("events after a failure: %+v", got)
			}
		})
	}
}

// TestFailingEventer: an Eventer that fails does not fail the operation, and every event is
// still offered to it.
func TestFailingEventer(t *testing.T) {
	rt, obs := newObservedRuntime(t, errors.New("event log full"))
	a := mustLookup(t, rt, "tiny")
	b := mustLookup(t, rt, "tiny-whiteout")
	if prev, err := a.Tag("shared"); err != nil || prev != "" {
		t.Fatalf("Tag = %q, %v", prev, err)
	}
	if prev, err := b.Tag("shared"); err != nil || prev != a.ID() {
		t.Fatalf("moving Tag = %q, %v, want %q", prev, err, a.ID())
	}
	if err := b.Untag("shared"); err != nil {
		t.Fatalf("Untag: %v", err)
	}
	assertNames(t, rt, b, "localhost/tiny-whiteout:latest")
	if got := obs.take(); len(got) != 4 {
		t.Errorf("the eventer was offered %d events, want 4: %+v", len(got), got)
	}
}

// TestDefaultEventer: a Runtime without an Eventer tags and untags normally.
func TestDefaultEventer(t *testing.T) {
	base, _ := newTestRuntime(t)
	mustLoad(t, base, "tiny.docker.tar")
	rt, err := NewRuntime(base.Store(), &RuntimeOptions{SystemContext: base.SystemContext()})
	if err != nil {
		t.Fatal(err)
	}
	img := mustLookup(t, rt, "tiny")
	if _, err := img.Tag("quiet"); err != nil {
		t.Fatal(err)
	}
	if err := img.Untag("quiet"); err != nil {
		t.Fatal(err)
	}
	assertNames(t, rt, img, "localhost/tiny:latest")
}
