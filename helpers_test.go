package image

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"

	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/reexec"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	runChildRole()
	os.Exit(m.Run())
}

// testPolicy accepts everything: the tests load local archives only.
const testPolicy = `{"default":[{"type":"insecureAcceptAnything"}]}`

// testRegistriesConf has one unqualified-search registry and one alias, so the short-name
// rules of lookup are exercised without reading the machine's registries.conf.
const testRegistriesConf = `unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "permissive"
[aliases]
"aliased" = "quay.io/aliases/real"
`

// recorder is an Eventer that keeps every event, for tests that assert the exact sequence.
type recorder struct {
	mu     sync.Mutex // guards events
	events []Event
}

func (r *recorder) Write(e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// take returns the events written so far (type, ID, name; time dropped) and forgets them.
func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Event, len(r.events))
	for k, e := range r.events {
		e.Time = e.Time.Truncate(0)
		out[k] = Event{Type: e.Type, ID: e.ID, Name: e.Name, Error: e.Error}
	}
	r.events = nil
	return out
}

// newTestRuntime returns a Runtime over a fresh vfs store in t.TempDir, with its own policy
// and registries.conf, and a recorder for its events. The store is shut down at cleanup.
func newTestRuntime(t testing.TB) (*Runtime, *recorder) {
	t.Helper()
	dir := t.TempDir()
	store, err := storage.GetStore(storage.StoreOptions{
		GraphRoot:       filepath.Join(dir, "root"),
		RunRoot:         filepath.Join(dir, "run"),
		GraphDriverName: "vfs",
	})
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { _, _ = store.Shutdown(true) })
	policy := filepath.Join(dir, "policy.json")
	regConf := filepath.Join(dir, "registries.conf")
	writeFile(t, policy, testPolicy)
	writeFile(t, regConf, testRegistriesConf)
	rec := &recorder{}
	rt, err := NewRuntime(store, &RuntimeOptions{
		Eventer: rec,
		SystemContext: &types.SystemContext{
			SignaturePolicyPath:         policy,
			SystemRegistriesConfPath:    regConf,
			SystemRegistriesConfDirPath: filepath.Join(dir, "registries.conf.d"),
			UserShortNameAliasConfPath:  filepath.Join(dir, "short-name-aliases.conf"),
		},
	})
	if err != nil {
		t.Fatalf("creating runtime: %v", err)
	}
	return rt, rec
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testdataPath returns the path of a file in testdata/.
func testdataPath(name string) string { return filepath.Join("testdata", name) }

// mustLoad loads archives from testdata/ in order and fails the test on any error.
func mustLoad(t testing.TB, rt *Runtime, archives ...string) []LoadedImage {
	t.Helper()
	var all []LoadedImage
	for _, a := range archives {
		res, err := rt.Load(context.Background(), testdataPath(a), nil)
		if err != nil {
			t.Fatalf("loading %s: %v", a, err)
		}
		all = append(all, res.Images...)
	}
	return all
}

// mustLookup looks a name up and fails the test if it is not found.
func mustLookup(t testing.TB, rt *Runtime, name string) *Image {
	t.Helper()
	img, _, err := rt.LookupImage(name, nil)
	if err != nil {
		t.Fatalf("looking up %q: %v", name, err)
	}
	return img
}

// storeState is what a failed operation must leave unchanged: every image with its names and
// top layer, every layer with its parent.
type storeState struct {
	Images []string
	Layers []string
}

func snapshotStore(t testing.TB, rt *Runtime) storeState {
	t.Helper()
	images, err := rt.store.Images()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := rt.store.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var st storeState
	for _, img := range images {
		names := append([]string(nil), img.Names...)
		sort.Strings(names)
		st.Images = append(st.Images, img.ID+" "+img.TopLayer+" "+joinNames(names))
	}
	for _, l := range layers {
		st.Layers = append(st.Layers, l.ID+" "+l.Parent)
	}
	sort.Strings(st.Images)
	sort.Strings(st.Layers)
	return st
}

func joinNames(names []string) string {
	out := ""
	for _, n := range names {
		out += n + ","
	}
	return out
}

// assertUnchanged fails the test if the store differs from before.
func assertUnchanged(t testing.TB, rt *Runtime, before storeState) {
	t.Helper()
	if after := snapshotStore(t, rt); !reflect.DeepEqual(before, after) {
		t.Errorf("store changed:\nbefore %+v\nafter  %+v", before, after)
	}
}
