package image

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pkg/errors"
)

// recordedIDs are the values podman reported for a testdata image (<name>.inspect.json).
type recordedIDs struct {
	ID     string `json:"Id"`
	Digest string `json:"Digest"`
}

// recordedIDDigest reads the ID and Digest podman recorded in testdata/<name>.inspect.json.
func recordedIDDigest(t testing.TB, name string) recordedIDs {
	t.Helper()
	raw, err := os.ReadFile(testdataPath(name + ".inspect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var facts []recordedIDs
	if err := json.Unmarshal(raw, &facts); err != nil {
		t.Fatalf("decoding %s.inspect.json: %v", name, err)
	}
	if len(facts) != 1 || len(facts[0].ID) != 64 || !strings.HasPrefix(facts[0].Digest, "sha256:") {
		t.Fatalf("%s.inspect.json: unexpected content %+v", name, facts)
	}
	return facts[0]
}

// assertErrorQuotes fails unless err wraps want and its message quotes input.
func assertErrorQuotes(t testing.TB, err, want error, input string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error for %q = %v, want one wrapping %q", input, err, want)
	}
	if !strings.Contains(err.Error(), strconv.Quote(input)) {
		t.Errorf("error %q does not quote the input %s", err.Error(), strconv.Quote(input))
	}
}

// Hex strings and a digest that no testdata image has.
const (
	otherHex64  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	otherHex63  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
	otherDigest = "sha256:" + otherHex64
)

func TestNormalizeName(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		in, want string
	}{
		{"busybox", "localhost/busybox:latest"},
		{"busybox:1.35", "localhost/busybox:1.35"},
		{"ns/busybox", "localhost/ns/busybox:latest"},
		{"a/b/c:v1", "localhost/a/b/c:v1"},
		{"localhost/busybox", "localhost/busybox:latest"},
		{"localhost/ns/busybox:2", "localhost/ns/busybox:2"},
		{"docker.io/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/library/busybox:1", "docker.io/library/busybox:1"},
		{"quay.io/a/b", "quay.io/a/b:latest"},
		{"quay.io/a/b:v2", "quay.io/a/b:v2"},
		{"localhost:5000/x:1", "localhost:5000/x:1"},
		{"registry.example.com:5000/ns/x", "registry.example.com:5000/ns/x:latest"},
		{"busybox@" + otherDigest, "localhost/busybox@" + otherDigest},
		{"busybox:1@" + otherDigest, "localhost/busybox@" + otherDigest},
		{"quay.io/a/b:v2@" + otherDigest, "quay.io/a/b@" + otherDigest},
		// Length: the limit (255) applies to the stored (localhost/) form.
		{long(245), "localhost/" + long(245) + ":latest"},
		{"quay.io/" + long(247), "quay.io/" + long(247) + ":latest"},
		// Only exactly 64 hex digits look like an ID.
		{otherHex63, "localhost/" + otherHex63 + ":latest"},
		{otherHex64 + "0", "localhost/" + otherHex64 + "0:latest"},
		{"localhost/" + otherHex64, "localhost/" + otherHex64 + ":latest"},
		{"sha256", "localhost/sha256:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeName(tt.in)
			if err != nil {
				t.Fatalf("NormalizeName(%q): %v", tt.in, err)
			}
			if got.String() != tt.want {
				t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got.String(), tt.want)
			}
		})
	}
}

// invalidNames are names NormalizeName, Tag and Untag must refuse with ErrInvalidName.
// lookup is what LookupImage answers for them (nil: ErrInvalidName too); the 64-hex and
// digest forms are IDs to LookupImage, so there they are unknown rather than invalid.
var invalidNames = []struct {
	what, in string
	lookup   error
}{
	{"empty", "", nil},
	{"uppercase", "Busybox", nil},
	{"uppercase in path", "ns/BusyBox", nil},
	{"uppercase qualified", "quay.io/a/B", nil},
	{"empty component", "a//b", nil},
	{"leading slash", "/busybox", nil},
	{"trailing slash", "busybox/", nil},
	{"empty tag", "busybox:", nil},
	{"space", "busy box", nil},
	{"leading space", " busybox", nil},
	{"tab", "busy\tbox", nil},
	{"newline", "busybox\n", nil},
	{"nul", "busy\x00box", nil},
	{"dot dot", "a/../b", nil},
	{"dot dot alone", "..", nil},
	{"double dot", "busy..box", nil},
	{"bad tag character", "busybox:v+1", nil},
	{"too long", strings.Repeat("a", 256), nil},
	{"too long qualified", "quay.io/" + strings.Repeat("a", 248), nil},
	{"too long once localhost/ is added", strings.Repeat("a", 246), nil},
	{"64 hex", otherHex64, ErrImageUnknown},
	{"64 hex with tag", otherHex64 + ":v1", ErrImageUnknown},
	{"64 hex with digest", otherHex64 + "@" + otherDigest, ErrImageUnknown},
	{"digest alone", otherDigest, ErrImageUnknown},
	{"short digest alone", "sha256:0123", nil},
	{"bad digest", "busybox@sha256:0123", nil},
	{"escape", "busybox\x1b[31m", nil},
	{"carriage return", "busybox\r", nil},
	{"control character in tag", "busybox:v\x01", nil},
	{"non-ASCII", "b\u00fcsybox", nil},
	{"dot dot first", "../busybox", nil},
	{"tag too long", "busybox:" + strings.Repeat("v", 129), nil},
	{"sha256 with 63 digits", "sha256:" + otherHex63, nil},
	{"digest with 63 digits", "busybox@sha256:" + otherHex63, nil},
	{"sha256 with 65 digits", "sha256:" + otherHex64 + "0", nil},
	{"uppercase digest", "sha256:" + strings.ToUpper(otherHex64), nil},
	// Found by FuzzLookupImage: "A" parses as a registry, but "A/0" is a short name.
	{"uppercase first component", "A/0", nil},
}

func TestNormalizeNameInvalid(t *testing.T) {
	for _, tt := range invalidNames {
		t.Run(tt.what, func(t *testing.T) {
			got, err := NormalizeName(tt.in)
			if err == nil {
				t.Fatalf("NormalizeName(%q) = %q, want an error", tt.in, got)
			}
			if got != nil {
				t.Errorf("NormalizeName(%q) returned %q with its error", tt.in, got)
			}
			assertErrorQuotes(t, err, ErrInvalidName, tt.in)
		})
	}
}

// FuzzNormalizeName: a name is refused with ErrInvalidName quoting it, or normalized to a
// fixed point whose repository is within the length limit.
func FuzzNormalizeName(f *testing.F) {
	for _, tt := range invalidNames {
		f.Add(tt.in)
	}
	f.Add("busybox:1@" + otherDigest)
	f.Add("docker.io/busybox")
	f.Fuzz(func(t *testing.T, in string) {
		named, err := NormalizeName(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), strconv.Quote(in)) {
				t.Fatalf("NormalizeName(%q): %v does not wrap ErrInvalidName or quote the input", in, err)
			}
			return
		}
		// A normalized name is a fixed point and never longer than the limit.
		again, err := NormalizeName(named.String())
		if err != nil || again.String() != named.String() {
			t.Fatalf("NormalizeName(%q) = %q, which normalizes to %v, %v", in, named, again, err)
		}
		if len(named.Name()) > 255 {
			t.Fatalf("NormalizeName(%q) = %q: repository longer than 255", in, named)
		}
	})
}

// lookupFixture is a store with real images and extra names that exercise every lookup rule.
type lookupFixture struct {
	rt  *Runtime
	rec *recorder
	ids map[string]string // testdata image name → recorded ID
}

// lookupNames are the names the fixture adds with Tag: image → names.
var lookupNames = map[string][]string{
	// Search order: quay.io (first unqualified-search registry) beats docker.io.
	// "example.com/bar:2" is qualified, so it must not reach the suffix rule.
	"tiny": {"quay.io/x:latest", "quay.io/y:latest", "localhost/aliased:latest", "quay.io/one/dup:1",
		"quay.io/a/same:1", "quay.io/b/same:1", "quay.io/ns/example.com/bar:2"},
	"busybox": {"docker.io/library/x:latest", "quay.io/two/dup:1"},
	// localhost beats the search registries.
	"chain-base": {"localhost/y:latest", "63a"},
	// Only the docker.io form.
	"bud-app": {"docker.io/library/z:latest"},
	// The alias beats localhost.
	"chain-mid": {"quay.io/aliases/real:latest"},
	"chain-top": {"quay.io/aliases/real:v2"},
	// Suffix rule.
	"tiny-whiteout": {"quay.io/foo/bar:1"},
}

func newLookupFixture(t *testing.T) *lookupFixture {
	t.Helper()
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "busybox.docker.tar", "chain.multi.docker.tar", "tiny.docker.tar",
		"tiny-whiteout.docker.tar", "bud-app.docker.tar")
	f := &lookupFixture{rt: rt, rec: rec, ids: map[string]string{}}
	for _, name := range []string{"busybox", "chain-base", "chain-mid", "chain-top", "tiny", "tiny-whiteout", "bud-app"} {
		f.ids[name] = recordedIDDigest(t, name).ID
	}
	for image, names := range lookupNames {
		img := mustLookup(t, rt, "sha256:"+f.ids[image])
		for _, n := range names {
			if prev, err := img.Tag(n); err != nil || prev != "" {
				t.Fatalf("tagging %s as %q = %q, %v", image, n, prev, err)
			}
		}
	}
	// A 64-hex name can only come from another tool: it must never be matched as a name.
	// A digested name stored as such is found by that name.
	if err := rt.store.AddNames(f.ids["tiny"], []string{"localhost/" + f.ids["busybox"] + ":latest",
		"localhost/" + otherHex64 + ":latest", "quay.io/pinned@" + otherDigest}); err != nil {
		t.Fatal(err)
	}
	rec.take()
	return f
}

func TestLookupImage(t *testing.T) {
	f := newLookupFixture(t)
	rt, ids := f.rt, f.ids
	busybox := recordedIDDigest(t, "busybox")
	tiny := recordedIDDigest(t, "tiny")
	storageSpec := "[vfs@" + rt.store.GraphRoot() + "+" + rt.store.RunRoot() + "]"

	tests := []struct {
		name     string
		in       string
		image    string // testdata image expected
		resolved string
		err      error
	}{
		// 1. Transports.
		{"containers-storage name", "containers-storage:busybox", "busybox", "localhost/busybox:latest", nil},
		{"containers-storage qualified", "containers-storage:quay.io/x", "tiny", "quay.io/x:latest", nil},
		{"containers-storage store spec", "containers-storage:" + storageSpec + "busybox", "busybox", "localhost/busybox:latest", nil},
		{"containers-storage @id", "containers-storage:@" + busybox.ID, "busybox", busybox.ID, nil},
		{"containers-storage name@id", "containers-storage:docker.io/x@" + busybox.ID, "busybox", busybox.ID, nil},
		{"containers-storage short name@id", "containers-storage:busybox:latest@" + busybox.ID, "busybox", busybox.ID, nil},
		{"containers-storage name of another image @id", "containers-storage:quay.io/x@" + busybox.ID, "", "", ErrImageUnknown},
		{"containers-storage invalid name @id", "containers-storage:Bad@" + busybox.ID, "", "", ErrInvalidName},
		{"containers-storage unknown @id", "containers-storage:@" + otherHex64, "", "", ErrImageUnknown},
		{"containers-storage spec @id", "containers-storage:" + storageSpec + "@" + busybox.ID, "busybox", busybox.ID, nil},
		{"containers-storage sha256", "containers-storage:sha256:" + busybox.ID, "busybox", busybox.ID, nil},
		{"containers-storage digested", "containers-storage:busybox@" + busybox.Digest, "busybox", "localhost/busybox@" + busybox.Digest, nil},
		{"containers-storage empty", "containers-storage:", "", "", ErrInvalidName},
		{"containers-storage unknown", "containers-storage:nothere", "", "", ErrImageUnknown},
		{"containers-storage unterminated spec", "containers-storage:[vfs@/x busybox", "", "", ErrInvalidName},
		{"docker", "docker://busybox", "", "", ErrUnsupportedTransport},
		{"docker qualified", "docker://quay.io/x:latest", "", "", ErrUnsupportedTransport},
		{"docker-archive", "docker-archive:" + testdataPath("busybox.docker.tar"), "", "", ErrUnsupportedTransport},
		{"oci", "oci:" + testdataPath("busybox.oci"), "", "", ErrUnsupportedTransport},
		{"oci-archive", "oci-archive:" + testdataPath("busybox.oci.tar"), "", "", ErrUnsupportedTransport},
		{"dir", "dir:/nonexistent", "", "", ErrUnsupportedTransport},
		{"containers-storage of docker", "containers-storage:docker://busybox", "", "", ErrUnsupportedTransport},
		// 2. IDs.
		{"sha256 full ID", "sha256:" + busybox.ID, "busybox", busybox.ID, nil},
		{"bare full ID", busybox.ID, "busybox", busybox.ID, nil},
		// tiny also holds "localhost/<busybox ID>:latest": a 64-hex input is an ID only.
		{"bare full ID is never a name", busybox.ID, "busybox", busybox.ID, nil},
		{"bare full ID of tiny", tiny.ID, "tiny", tiny.ID, nil},
		{"sha256 63 digits", "sha256:" + busybox.ID[:63], "", "", ErrInvalidName},
		{"sha256 short", "sha256:" + busybox.ID[:12], "", "", ErrInvalidName},
		{"sha256 empty", "sha256:", "", "", ErrInvalidName},
		{"sha256 uppercase", "sha256:" + strings.ToUpper(busybox.ID), "", "", ErrInvalidName},
		{"sha256 unknown ID", "sha256:" + otherHex64, "", "", ErrImageUnknown},
		{"bare unknown ID named as localhost/<hex>", otherHex64, "", "", ErrImageUnknown},
		// 3. Names.
		{"qualified", "quay.io/x", "tiny", "quay.io/x:latest", nil},
		{"qualified tagged", "quay.io/x:latest", "tiny", "quay.io/x:latest", nil},
		{"localhost qualified", "localhost/busybox", "busybox", "localhost/busybox:latest", nil},
		{"docker.io short form", "docker.io/x", "busybox", "docker.io/library/x:latest", nil},
		{"qualified not found", "quay.io/busybox", "", "", ErrImageUnknown},
		{"short through localhost", "busybox", "busybox", "localhost/busybox:latest", nil},
		{"short tagged", "chain-top:v1", "chain-top", "localhost/chain-top:v1", nil},
		{"short ns", "localhost/chain-top:latest", "chain-top", "localhost/chain-top:latest", nil},
		{"localhost before search registries", "y", "chain-base", "localhost/y:latest", nil},
		{"search registries in order", "x", "tiny", "quay.io/x:latest", nil},
		{"docker.io form", "z", "bud-app", "docker.io/library/z:latest", nil},
		{"alias before localhost", "aliased", "chain-mid", "quay.io/aliases/real:latest", nil},
		{"alias with tag", "aliased:v2", "chain-top", "quay.io/aliases/real:v2", nil},
		{"digested qualified", "localhost/busybox@" + busybox.Digest, "busybox", "localhost/busybox@" + busybox.Digest, nil},
		{"digested short", "busybox@" + busybox.Digest, "busybox", "localhost/busybox@" + busybox.Digest, nil},
		{"digested in a repository the image has a name in", "quay.io/two/dup@" + busybox.Digest, "busybox", "quay.io/two/dup@" + busybox.Digest, nil},
		{"tag and digest", "busybox:latest@" + busybox.Digest, "busybox", "localhost/busybox@" + busybox.Digest, nil},
		{"other tag and digest", "busybox:other@" + busybox.Digest, "busybox", "localhost/busybox@" + busybox.Digest, nil},
		{"digest of another repository", "localhost/tiny@" + busybox.Digest, "", "", ErrImageUnknown},
		{"short digest of another repository", "tiny@" + busybox.Digest, "", "", ErrImageUnknown},
		{"unknown digest", "busybox@" + otherDigest, "", "", ErrImageUnknown},
		{"digested name stored as such", "quay.io/pinned@" + otherDigest, "tiny", "quay.io/pinned@" + otherDigest, nil},
		{"digested name stored as such, tag ignored", "quay.io/pinned:v9@" + otherDigest, "tiny", "quay.io/pinned@" + otherDigest, nil},
		// 4. ID prefixes.
		{"unique ID prefix", busybox.ID[:4], "busybox", busybox.ID, nil},
		{"one-digit unique ID prefix", "b", "tiny", tiny.ID, nil},
		{"63-digit ID prefix", busybox.ID[:63], "busybox", busybox.ID, nil},
		{"ambiguous ID prefix 6", "6", "", "", ErrAmbiguous},
		{"ambiguous ID prefix 3", "3", "", "", ErrAmbiguous},
		{"names win over ID prefixes", "63a", "chain-base", "localhost/63a:latest", nil},
		{"ID prefix of nothing", "ff", "", "", ErrImageUnknown},
		// 5. Suffix.
		{"suffix", "bar:1", "tiny-whiteout", "quay.io/foo/bar:1", nil},
		{"suffix with path", "foo/bar:1", "tiny-whiteout", "quay.io/foo/bar:1", nil},
		{"suffix not at a / boundary", "ar:1", "", "", ErrImageUnknown},
		{"suffix needs the same tag", "bar", "", "", ErrImageUnknown},
		{"suffix ambiguous", "dup:1", "", "", ErrAmbiguous},
		{"suffix two names of one image", "same:1", "tiny", "", nil},
		{"suffix digested", "bar@" + recordedIDDigest(t, "tiny-whiteout").Digest, "tiny-whiteout", "quay.io/foo/bar@" + recordedIDDigest(t, "tiny-whiteout").Digest, nil},
		{"suffix not for qualified names", "quay.io/bar:1", "", "", ErrImageUnknown},
		{"suffix not for qualified names with a dotted path", "example.com/bar:2", "", "", ErrImageUnknown},
		{"suffix dotted path as a short name", "ns/example.com/bar:2", "tiny", "quay.io/ns/example.com/bar:2", nil},
		// Not found.
		{"unknown short", "nonexistent", "", "", ErrImageUnknown},
		{"unknown qualified", "quay.io/nope/nope:1", "", "", ErrImageUnknown},
		{"unknown tag", "busybox:nope", "", "", ErrImageUnknown},
		// Invalid.
		{"empty", "", "", "", ErrInvalidName},
		{"uppercase", "Busybox", "", "", ErrInvalidName},
		{"empty component", "a//b", "", "", ErrInvalidName},
		{"space", "busy box", "", "", ErrInvalidName},
		{"control character", "busy\x01box", "", "", ErrInvalidName},
		{"dot dot", "a/../b", "", "", ErrInvalidName},
		{"too long", strings.Repeat("a", 256), "", "", ErrInvalidName},
	}
	before := snapshotStore(t, rt)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, resolved, err := rt.LookupImage(tt.in, nil)
			if tt.err != nil {
				if img != nil || resolved != "" {
					t.Errorf("LookupImage(%q) = %v, %q with error %v", tt.in, img, resolved, err)
				}
				assertErrorQuotes(t, err, tt.err, tt.in)
				return
			}
			if err != nil {
				t.Fatalf("LookupImage(%q): %v", tt.in, err)
			}
			if img.ID() != ids[tt.image] {
				t.Errorf("LookupImage(%q) found %s, want %s (%s)", tt.in, img.ID(), ids[tt.image], tt.image)
			}
			if tt.resolved != "" && resolved != tt.resolved {
				t.Errorf("LookupImage(%q) resolved to %q, want %q", tt.in, resolved, tt.resolved)
			}
			if tt.resolved == "" && !hasName(img.snapshot(), resolved) {
				t.Errorf("LookupImage(%q) resolved to %q, which is not a name of %s", tt.in, resolved, img.ID())
			}
		})
	}
	assertUnchanged(t, rt, before)
	if ev := f.rec.take(); len(ev) != 0 {
		t.Errorf("lookups wrote events: %+v", ev)
	}
}

// TestLookupRecordedDigest checks the digest rule against podman's recorded values: the
// recorded Digest of every loaded image is found through each repository it has a name in.
func TestLookupRecordedDigest(t *testing.T) {
	rt, rec := newTestRuntime(t)
	mustLoad(t, rt, "busybox.docker.tar", "tiny.docker.tar", "chain-base.docker.tar")
	rec.take()
	before := snapshotStore(t, rt)
	for _, name := range []string{"busybox", "tiny", "chain-base"} {
		facts := recordedIDDigest(t, name)
		for _, in := range []string{"localhost/" + name + "@" + facts.Digest, name + "@" + facts.Digest} {
			t.Run(in, func(t *testing.T) {
				img, resolved, err := rt.LookupImage(in, nil)
				if err != nil {
					t.Fatalf("LookupImage(%q): %v", in, err)
				}
				if img.ID() != facts.ID {
					t.Errorf("LookupImage(%q) = %s, want %s", in, img.ID(), facts.ID)
				}
				if want := "localhost/" + name + "@" + facts.Digest; resolved != want {
					t.Errorf("LookupImage(%q) resolved %q, want %q", in, resolved, want)
				}
			})
		}
	}
	assertUnchanged(t, rt, before)
	if ev := rec.take(); len(ev) != 0 {
		t.Errorf("lookups wrote events: %+v", ev)
	}
}

// TestLookupAmbiguousPrefixFromRecords derives the ambiguous one-digit prefixes from the
// recorded IDs rather than assuming them.
func TestLookupAmbiguousPrefixFromRecords(t *testing.T) {
	rt, _ := newTestRuntime(t)
	archives := map[string]string{
		"busybox": "busybox.docker.tar", "tiny": "tiny.docker.tar", "tiny-whiteout": "tiny-whiteout.docker.tar",
		"chain-base": "chain-base.docker.tar", "bud-app": "bud-app.docker.tar", "layers20": "layers20.docker.tar",
	}
	byDigit := map[string][]string{}
	for name, archive := range archives {
		mustLoad(t, rt, archive)
		id := recordedIDDigest(t, name).ID
		byDigit[id[:1]] = append(byDigit[id[:1]], id)
	}
	before := snapshotStore(t, rt)
	ambiguous := 0
	for digit, ids := range byDigit {
		t.Run(digit, func(t *testing.T) {
			img, _, err := rt.LookupImage(digit, nil)
			switch len(ids) {
			case 1:
				if err != nil || img.ID() != ids[0] {
					t.Errorf("LookupImage(%q) = %v, %v, want %s", digit, img, err, ids[0])
				}
			default:
				ambiguous++
				if img != nil {
					t.Errorf("LookupImage(%q) returned %s for a prefix of %v", digit, img.ID(), ids)
				}
				assertErrorQuotes(t, err, ErrAmbiguous, digit)
			}
		})
	}
	if ambiguous == 0 {
		t.Fatal("the recorded IDs share no first digit: the test checks no ambiguity")
	}
	assertUnchanged(t, rt, before)
}

// TestLookupImageSeesOtherWriters checks that a lookup sees names added through another
// Runtime on the same store (nothing is cached between calls).
func TestLookupImageSeesOtherWriters(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	other, err := NewRuntime(rt.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rt.LookupImage("late", nil); !errors.Is(err, ErrImageUnknown) {
		t.Fatalf("LookupImage(late) before tagging: %v", err)
	}
	if _, err := mustLookup(t, other, "tiny").Tag("late"); err != nil {
		t.Fatal(err)
	}
	if img := mustLookup(t, rt, "late"); img.ID() != recordedIDDigest(t, "tiny").ID {
		t.Errorf("late = %s, want tiny", img.ID())
	}
}

// TestLookupDockerIOForm: the docker.io form is tried last even when docker.io is not an
// unqualified-search registry.
func TestLookupDockerIOForm(t *testing.T) {
	base, _ := newTestRuntime(t)
	mustLoad(t, base, "tiny.docker.tar", "tiny-whiteout.docker.tar")
	sys := base.SystemContext()
	sys.SystemRegistriesConfPath = filepath.Join(t.TempDir(), "registries.conf")
	writeFile(t, sys.SystemRegistriesConfPath, `unqualified-search-registries = ["quay.io"]
short-name-mode = "permissive"
`)
	rt, err := NewRuntime(base.Store(), &RuntimeOptions{SystemContext: sys})
	if err != nil {
		t.Fatal(err)
	}
	tiny, whiteout := recordedIDDigest(t, "tiny"), recordedIDDigest(t, "tiny-whiteout")
	if _, err := mustLookup(t, rt, tiny.ID).Tag("docker.io/library/only-hub:1"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"docker.io/library/both:latest", "docker.io/ns/both:latest"} {
		if _, err := mustLookup(t, rt, tiny.ID).Tag(n); err != nil {
			t.Fatal(err)
		}
	}
	// Without the docker.io form, "only-hub:1" would reach the suffix rule and be ambiguous.
	if _, err := mustLookup(t, rt, whiteout.ID).Tag("quay.io/other/only-hub:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := mustLookup(t, rt, whiteout.ID).Tag("quay.io/both"); err != nil {
		t.Fatal(err)
	}
	if _, err := mustLookup(t, rt, whiteout.ID).Tag("quay.io/ns/both"); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, id, resolved string }{
		{"only-hub:1", tiny.ID, "docker.io/library/only-hub:1"},
		{"both", whiteout.ID, "quay.io/both:latest"},
		{"ns/both", whiteout.ID, "quay.io/ns/both:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			img, resolved, err := rt.LookupImage(tt.in, nil)
			if err != nil {
				t.Fatalf("LookupImage(%q): %v", tt.in, err)
			}
			if img.ID() != tt.id || resolved != tt.resolved {
				t.Errorf("LookupImage(%q) = %s, %q, want %s, %q", tt.in, img.ID(), resolved, tt.id, tt.resolved)
			}
		})
	}
}

// TestLookupBadRegistriesConf: a registries.conf that cannot be read is reported as such,
// not as an invalid name.
func TestLookupBadRegistriesConf(t *testing.T) {
	rt, _ := newTestRuntime(t)
	sys := rt.SystemContext()
	sys.SystemRegistriesConfPath = filepath.Join(t.TempDir(), "missing.conf")
	rt2, err := NewRuntime(rt.Store(), &RuntimeOptions{SystemContext: sys})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = rt2.LookupImage("busybox", nil)
	if err == nil || errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("error %v: want one naming the missing registries.conf, not ErrInvalidName", err)
	}
}
