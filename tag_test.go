package image

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/pkg/errors"
)

// storedNames returns the image's names as the store has them now, sorted.
func storedNames(t testing.TB, rt *Runtime, id string) []string {
	t.Helper()
	s, err := rt.store.Image(id)
	if err != nil {
		t.Fatalf("reading image %s: %v", id, err)
	}
	names := append([]string(nil), s.Names...)
	sort.Strings(names)
	return names
}

// assertNames fails unless the image has exactly want (in any order) in the store and in
// the Image's snapshot.
func assertNames(t testing.TB, rt *Runtime, img *Image, want ...string) {
	t.Helper()
	want = append([]string(nil), want...)
	sort.Strings(want)
	if got := storedNames(t, rt, img.ID()); !reflect.DeepEqual(got, want) {
		t.Errorf("image %s has names %q in the store, want %q", img.ID(), got, want)
	}
	got := img.Names()
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Image.Names() of %s = %q, want %q", img.ID(), got, want)
	}
}

// assertEvents fails unless the recorder got exactly want (Time ignored).
func assertEvents(t testing.TB, rec *recorder, want ...Event) {
	t.Helper()
	got := rec.take()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %+v\nwant %+v", got, want)
	}
}

func TestTagNormalizes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"foo", "localhost/foo:latest"},
		{"foo:1", "localhost/foo:1"},
		{"ns/foo", "localhost/ns/foo:latest"},
		{"localhost/foo:2", "localhost/foo:2"},
		{"docker.io/foo", "docker.io/library/foo:latest"},
		{"quay.io/a/b:v2", "quay.io/a/b:v2"},
		{"localhost:5000/x:1", "localhost:5000/x:1"},
	}
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	tiny := recordedIDDigest(t, "tiny")
	rec.take()
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			img := mustLookup(t, rt, tiny.ID)
			prev, err := img.Tag(tt.in)
			if err != nil {
				t.Fatalf("Tag(%q): %v", tt.in, err)
			}
			if prev != "" {
				t.Errorf("Tag(%q) reported a previous owner %q", tt.in, prev)
			}
			assertNames(t, rt, img, "localhost/tiny:latest", tt.want)
			assertEvents(t, rec, Event{Type: EventTag, ID: tiny.ID, Name: tt.want})
			if found := mustLookup(t, rt, tt.want); found.ID() != tiny.ID {
				t.Errorf("%q found %s, want %s", tt.want, found.ID(), tiny.ID)
			}
			if err := img.Untag(tt.want); err != nil {
				t.Fatalf("Untag(%q): %v", tt.want, err)
			}
			assertNames(t, rt, img, "localhost/tiny:latest")
			assertEvents(t, rec, Event{Type: EventUntag, ID: tiny.ID, Name: tt.want})
		})
	}
}

func TestTagRefusesDigests(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	tiny := recordedIDDigest(t, "tiny")
	img := mustLookup(t, rt, tiny.ID)
	rec.take()
	before := snapshotStore(t, rt)
	for _, in := range []string{
		"foo@" + tiny.Digest,
		"foo:1@" + tiny.Digest,
		"localhost/tiny@" + tiny.Digest,
		"quay.io/a/b:v1@" + otherDigest,
	} {
		t.Run(in, func(t *testing.T) {
			prev, err := img.Tag(in)
			if prev != "" {
				t.Errorf("Tag(%q) returned %q with its error", in, prev)
			}
			assertErrorQuotes(t, err, ErrInvalidName, in)
		})
	}
	assertUnchanged(t, rt, before)
	assertEvents(t, rec)
}

func TestTagMovesName(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar", "tiny-whiteout.docker.tar")
	a := mustLookup(t, rt, recordedIDDigest(t, "tiny").ID)
	b := mustLookup(t, rt, recordedIDDigest(t, "tiny-whiteout").ID)
	if _, err := a.Tag("quay.io/moving:1"); err != nil {
		t.Fatal(err)
	}
	rec.take()

	prev, err := b.Tag("quay.io/moving:1")
	if err != nil {
		t.Fatalf("Tag: %v", err)
	}
	if prev != a.ID() {
		t.Errorf("Tag returned previous owner %q, want %q", prev, a.ID())
	}
	assertEvents(t, rec,
		Event{Type: EventTag, ID: b.ID(), Name: "quay.io/moving:1"},
		Event{Type: EventUntag, ID: a.ID(), Name: "quay.io/moving:1"})
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	assertNames(t, rt, a, "localhost/tiny:latest")
	assertNames(t, rt, b, "localhost/tiny-whiteout:latest", "quay.io/moving:1")
	if found := mustLookup(t, rt, "quay.io/moving:1"); found.ID() != b.ID() {
		t.Errorf("quay.io/moving:1 found %s, want %s", found.ID(), b.ID())
	}

	// A loaded name moves the same way, reported the same way.
	prev, err = a.Tag("tiny-whiteout")
	if err != nil || prev != b.ID() {
		t.Fatalf("Tag(tiny-whiteout) = %q, %v, want %q", prev, err, b.ID())
	}
	assertEvents(t, rec,
		Event{Type: EventTag, ID: a.ID(), Name: "localhost/tiny-whiteout:latest"},
		Event{Type: EventUntag, ID: b.ID(), Name: "localhost/tiny-whiteout:latest"})
	if err := b.Reload(); err != nil {
		t.Fatal(err)
	}
	assertNames(t, rt, b, "quay.io/moving:1")
	assertNames(t, rt, a, "localhost/tiny:latest", "localhost/tiny-whiteout:latest")
}

func TestTagNameAlreadyHeld(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	img := mustLookup(t, rt, "tiny")
	rec.take()
	for _, in := range []string{"tiny", "localhost/tiny", "localhost/tiny:latest"} {
		t.Run(in, func(t *testing.T) {
			prev, err := img.Tag(in)
			if err != nil || prev != "" {
				t.Fatalf("Tag(%q) = %q, %v, want \"\", nil", in, prev, err)
			}
			assertNames(t, rt, img, "localhost/tiny:latest")
			assertEvents(t, rec, Event{Type: EventTag, ID: img.ID(), Name: "localhost/tiny:latest"})
		})
	}
}

func TestUntag(t *testing.T) {
	tiny := recordedIDDigest(t, "tiny")
	initial := []string{
		"localhost/tiny:latest", "localhost/tiny:v1", "localhost/tiny@" + tiny.Digest,
		"quay.io/foo:latest", "localhost/foo:latest", "quay.io/a/b:latest",
	}
	without := func(name string) []string {
		var out []string
		for _, n := range initial {
			if n != name {
				out = append(out, n)
			}
		}
		return out
	}
	tests := []struct {
		in      string
		removed string // "" means ErrTagUnknown
	}{
		{"tiny", "localhost/tiny:latest"},
		{"tiny:v1", "localhost/tiny:v1"},
		{"localhost/tiny@" + tiny.Digest, "localhost/tiny@" + tiny.Digest},
		{"tiny@" + tiny.Digest, "localhost/tiny@" + tiny.Digest},
		{"tiny:v1@" + tiny.Digest, "localhost/tiny@" + tiny.Digest},
		{"foo", "localhost/foo:latest"},
		{"quay.io/foo", "quay.io/foo:latest"},
		{"quay.io/a/b", "quay.io/a/b:latest"},
		{"tiny:v2", ""},
		{"b", ""},
		{"docker.io/foo", ""},
		{"localhost/tiny@" + otherDigest, ""},
		{"a/b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			rt, rec := newTestRuntime(t)
			mustLoad(t, rt, "tiny.docker.tar")
			if err := rt.store.AddNames(tiny.ID, initial); err != nil {
				t.Fatal(err)
			}
			img := mustLookup(t, rt, tiny.ID)
			rec.take()
			before := snapshotStore(t, rt)
			err := img.Untag(tt.in)
			if tt.removed == "" {
				assertErrorQuotes(t, err, ErrTagUnknown, tt.in)
				assertUnchanged(t, rt, before)
				assertEvents(t, rec)
				return
			}
			if err != nil {
				t.Fatalf("Untag(%q): %v", tt.in, err)
			}
			assertNames(t, rt, img, without(tt.removed)...)
			assertEvents(t, rec, Event{Type: EventUntag, ID: tiny.ID, Name: tt.removed})
			// Untagging twice is an error the second time.
			assertErrorQuotes(t, img.Untag(tt.in), ErrTagUnknown, tt.in)
			assertEvents(t, rec)
		})
	}
}

func TestUntagLastNameLeavesImage(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	img := mustLookup(t, rt, "tiny")
	rec.take()
	if err := img.Untag("tiny"); err != nil {
		t.Fatal(err)
	}
	assertNames(t, rt, img)
	if found := mustLookup(t, rt, recordedIDDigest(t, "tiny").ID); found.ID() != img.ID() {
		t.Errorf("image %s is gone after untagging its last name", img.ID())
	}
	if tags := img.RepoTags(); len(tags) != 0 {
		t.Errorf("RepoTags() = %q after untagging the only name", tags)
	}
	assertEvents(t, rec, Event{Type: EventUntag, ID: img.ID(), Name: "localhost/tiny:latest"})
}

func TestTagNamesHistory(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	img := mustLookup(t, rt, "tiny")
	for _, n := range []string{"hist1", "quay.io/hist2:v2"} {
		if _, err := img.Tag(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := img.Untag("hist1"); err != nil {
		t.Fatal(err)
	}
	// c/storage orders the history by its own rules; what it promises is that every name the
	// image has had is there, untagged ones included.
	want := []string{"localhost/hist1:latest", "localhost/tiny:latest", "quay.io/hist2:v2"}
	for _, got := range [][]string{img.NamesHistory(), mustLookup(t, rt, img.ID()).NamesHistory()} {
		got = append([]string(nil), got...)
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("NamesHistory() = %q, want %q in any order", got, want)
		}
	}
}

// TestTagUntagConcurrent has 8 goroutines tag 20 names each on one image and untag every
// other one: exactly the rest must remain.
func TestTagUntagConcurrent(t *testing.T) {
	const workers, perWorker = 8, 20
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	img := mustLookup(t, rt, "tiny")
	rec.take()
	want := []string{"localhost/tiny:latest"}
	for w := range workers {
		for n := 1; n < perWorker; n += 2 {
			want = append(want, fmt.Sprintf("localhost/w%d:n%d", w, n))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the workers share the Image, half look it up on their own.
			mine := img
			if w%2 == 1 {
				found, _, err := rt.LookupImage(img.ID(), nil)
				if err != nil {
					errs <- err
					return
				}
				mine = found
			}
			for n := range perWorker {
				if _, err := mine.Tag(fmt.Sprintf("w%d:n%d", w, n)); err != nil {
					errs <- err
					return
				}
				if n%2 == 1 {
					continue
				}
				if err := mine.Untag(fmt.Sprintf("w%d:n%d", w, n)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := img.Reload(); err != nil {
		t.Fatal(err)
	}
	assertNames(t, rt, img, want...)
	tags, untags := 0, 0
	for _, e := range rec.take() {
		switch {
		case e.Type == EventTag && e.ID == img.ID():
			tags++
		case e.Type == EventUntag && e.ID == img.ID():
			untags++
		default:
			t.Errorf("unexpected event %+v", e)
		}
	}
	if tags != workers*perWorker || untags != workers*perWorker/2 {
		t.Errorf("got %d tag and %d untag events, want %d and %d", tags, untags, workers*perWorker, workers*perWorker/2)
	}
}

// TestTagUntagBadInput: every invalid name fails with an error quoting it, changes nothing
// and writes no event.
func TestTagUntagBadInput(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar", "tiny-whiteout.docker.tar")
	img := mustLookup(t, rt, "tiny")
	rec.take()
	before := snapshotStore(t, rt)
	for _, tt := range invalidNames {
		t.Run(tt.what, func(t *testing.T) {
			prev, err := img.Tag(tt.in)
			if prev != "" {
				t.Errorf("Tag(%q) returned %q with its error", tt.in, prev)
			}
			assertErrorQuotes(t, err, ErrInvalidName, tt.in)
			assertErrorQuotes(t, img.Untag(tt.in), ErrInvalidName, tt.in)
			want := tt.lookup
			if want == nil {
				want = ErrInvalidName
			}
			found, resolved, err := rt.LookupImage(tt.in, nil)
			if found != nil || resolved != "" {
				t.Errorf("LookupImage(%q) = %v, %q", tt.in, found, resolved)
			}
			assertErrorQuotes(t, err, want, tt.in)
		})
	}
	assertUnchanged(t, rt, before)
	assertEvents(t, rec)
}

// TestTagUntagRemovedImage: an Image whose image was removed from the store fails to be
// tagged or untagged with ErrImageUnknown, quoting the name, and writes no event.
func TestTagUntagRemovedImage(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar", "tiny-whiteout.docker.tar")
	img := mustLookup(t, rt, "tiny")
	if _, err := rt.store.DeleteImage(img.ID(), true); err != nil {
		t.Fatal(err)
	}
	rec.take()
	before := snapshotStore(t, rt)
	prev, err := img.Tag("gone")
	if prev != "" {
		t.Errorf("Tag returned %q with its error", prev)
	}
	assertErrorQuotes(t, err, ErrImageUnknown, "gone")
	assertErrorQuotes(t, img.Untag("tiny"), ErrImageUnknown, "tiny")
	assertUnchanged(t, rt, before)
	assertEvents(t, rec)
	if _, _, err := rt.LookupImage("gone", nil); !errors.Is(err, ErrImageUnknown) {
		t.Errorf("LookupImage(gone) after the failed tag: %v", err)
	}
}

// TestUntagSeesCurrentNames: Untag decides from the store, not from the Image's snapshot.
func TestUntagSeesCurrentNames(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	stale := mustLookup(t, rt, "tiny")
	if _, err := mustLookup(t, rt, "tiny").Tag("later"); err != nil {
		t.Fatal(err)
	}
	if err := stale.Untag("later"); err != nil {
		t.Fatalf("Untag of a name added after the snapshot: %v", err)
	}
	stale = mustLookup(t, rt, "tiny")
	if err := mustLookup(t, rt, "tiny").Untag("tiny"); err != nil {
		t.Fatal(err)
	}
	assertErrorQuotes(t, stale.Untag("tiny"), ErrTagUnknown, "tiny")
	assertNames(t, rt, stale)
}
