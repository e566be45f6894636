package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
)

// Fuzz targets for what reads untrusted text: names and lookups, list filters, and the
// archive readers of Load (FuzzNormalizeName is in lookup_test.go, FuzzParseChanges in
// changes_test.go). Their seed corpora (testdata/fuzz/<target>/, go's format) run in every
// `go test`; `make fuzz` runs each target for FUZZTIME. A crash the fuzzer finds is kept as
// a seed there, so it stays a regular test.

// fuzzStore is a small real store for the lookup and filter targets: tiny (b61b…) and
// tiny-whiteout (6adb…) from testdata, with names that exercise the lookup rules.
func fuzzStore(f *testing.F) (*Runtime, *recorder) {
	f.Helper()
	rt, rec := newTestRuntime(f)
	mustLoad(f, rt, "tiny.docker.tar", "tiny-whiteout.docker.tar")
	img := mustLookup(f, rt, "tiny")
	for _, n := range []string{"quay.io/ns/tiny:1", "docker.io/library/tiny:2", "aliased"} {
		if _, err := img.Tag(n); err != nil {
			f.Fatal(err)
		}
	}
	rec.take()
	return rt, rec
}

// FuzzLookupImage: LookupImage on a real store never panics and never writes; it fails
// exactly when its parse step fails (ErrInvalidName, ErrUnsupportedTransport) or when no
// single image matches (ErrImageUnknown, ErrAmbiguous), always quoting the input; what it
// finds, it finds again by the name it resolved to.
func FuzzLookupImage(f *testing.F) {
	rt, rec := fuzzStore(f)
	for _, s := range []string{"tiny", "tiny:1", "ns/tiny:1", "b61b", "6", "sha256:" + otherHex64,
		"containers-storage:tiny", "containers-storage:[vfs@/x]tiny", "docker://tiny", "aliased", "quay.io/ns/tiny@" + otherDigest} {
		f.Add(s)
	}
	for _, tt := range invalidNames {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		img, resolved, err := rt.LookupImage(in, nil)
		_, parseErr := rt.parseLookup(in)
		if events := rec.take(); len(events) != 0 {
			t.Fatalf("LookupImage(%q) wrote events %+v", in, events)
		}
		if err != nil {
			checkLookupError(t, in, img, resolved, err, parseErr)
			return
		}
		if parseErr != nil {
			t.Fatalf("LookupImage(%q) found %s, but its parse step failed: %v", in, img.ID(), parseErr)
		}
		if !resolvedNamesImage(img, resolved) {
			t.Fatalf("LookupImage(%q) = %s, %q: neither its ID nor one of its names %q", in, img.ID(), resolved, img.Names())
		}
		again, _, err := rt.LookupImage(resolved, nil)
		if err != nil || again.ID() != img.ID() {
			t.Fatalf("LookupImage(%q) = %s by %q, which finds %v, %v", in, img.ID(), resolved, again, err)
		}
	})
}

func checkLookupError(t *testing.T, in string, img *Image, resolved string, err, parseErr error) {
	t.Helper()
	if img != nil || resolved != "" {
		t.Fatalf("LookupImage(%q) returned %v, %q with its error %v", in, img, resolved, err)
	}
	if !strings.Contains(err.Error(), strconv.Quote(in)) {
		t.Fatalf("LookupImage(%q): %q does not quote the input", in, err)
	}
	if parseErr != nil {
		if err.Error() != parseErr.Error() {
			t.Fatalf("LookupImage(%q) = %v, its parse step %v", in, err, parseErr)
		}
		if !errors.Is(err, ErrInvalidName) && !errors.Is(err, ErrUnsupportedTransport) {
			t.Fatalf("LookupImage(%q): parse error %v wraps neither ErrInvalidName nor ErrUnsupportedTransport", in, err)
		}
		return
	}
	if !errors.Is(err, ErrImageUnknown) && !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("LookupImage(%q) parsed, then failed with %v: neither ErrImageUnknown nor ErrAmbiguous", in, err)
	}
}

// resolvedNamesImage reports whether resolved is img's ID, one of its names, or a
// "repo@digest" of one of its digests in the repository of one of its names.
func resolvedNamesImage(img *Image, resolved string) bool {
	if resolved == img.ID() || slices.Contains(img.Names(), resolved) {
		return true
	}
	repo, d, ok := strings.Cut(resolved, "@")
	return ok && slices.ContainsFunc(img.Digests(), func(x digest.Digest) bool { return x.String() == d }) &&
		inRepository(img.snapshot(), repo)
}

// FuzzListFilters: a filter is refused with ErrInvalidFilter quoting it, or it splits the
// store: "key=value" and "key!=value" keep complementary sets of images.
func FuzzListFilters(f *testing.F) {
	rt, _ := fuzzStore(f)
	ctx := context.Background()
	all, err := rt.ListImages(ctx, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"dangling=true", "intermediate=false", "readonly=true", "containers=false",
		"label=a", "label=a=b", "reference=tiny", "reference=*/tiny:1", "reference=quay.io/ns/*", "reference=tiny@" + otherDigest,
		"id=b61b", "id=sha256:6", "digest=sha256:", "before=tiny", "since=tiny-whiteout", "after=b61b",
		"until=1h", "until=2006-01-02T15:04:05Z", "until=1700000000", "reference=[", "id=xyz", "nokey=1", "=", "dangling!=true"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		got, err := rt.ListImages(ctx, &ListOptions{Filters: []string{filter}})
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) || !strings.Contains(err.Error(), strconv.Quote(filter)) {
				t.Fatalf("filter %q: %v does not wrap ErrInvalidFilter or quote the filter", filter, err)
			}
			return
		}
		key, value, ok := strings.Cut(filter, "=")
		if !ok || strings.HasSuffix(key, "!") {
			return
		}
		other, err := rt.ListImages(ctx, &ListOptions{Filters: []string{key + "!=" + value}})
		if err != nil {
			t.Fatalf("%q passes, %q fails: %v", filter, key+"!="+value, err)
		}
		if ids := append(listedIDs(got), listedIDs(other)...); !sameIDSet(ids, listedIDs(all)) {
			t.Fatalf("%q keeps %v and %q keeps %v: not a split of %v", filter, listedIDs(got), key+"!="+value, listedIDs(other), listedIDs(all))
		}
	})
}

func listedIDs(images []*Image) []string {
	ids := make([]string, len(images))
	for k, img := range images {
		ids[k] = img.ID()
	}
	return ids
}

// sameIDSet reports whether ids holds each ID of want exactly once, and nothing else.
func sameIDSet(ids, want []string) bool {
	a, b := slices.Clone(ids), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// loadErrorSentinels are what an error of Load's readers must wrap: the input is no image,
// is unsafe, names an image badly, or refers to a file it lacks.
var loadErrorSentinels = []error{ErrUnsupportedFormat, ErrUnsafeArchive, ErrInvalidName, fs.ErrNotExist}

// checkOpened opens path as Load does (format detection and the readers, no copy) and fails
// on a panic, an error that wraps none of loadErrorSentinels, a name that is not normalized,
// or a temp file left behind once released.
func checkOpened(t *testing.T, rt *Runtime, path string) {
	t.Helper()
	in, err := rt.openInput(context.Background(), path)
	if err != nil {
		if !slices.ContainsFunc(loadErrorSentinels, func(s error) bool { return errors.Is(err, s) }) {
			t.Fatalf("opening the input: %v wraps none of %v", err, loadErrorSentinels)
		}
	} else {
		for _, src := range in.sources {
			for _, n := range src.names {
				if named, err := NormalizeName(n); err != nil || named.String() != n {
					t.Errorf("name %q is not a normalized name (%v, %v)", n, named, err)
				}
			}
		}
		in.release()
	}
	assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
}

// mustOpen fails the fuzz target unless its harness, given the unchanged fixture at path,
// opens one image with the names want: a harness that broke every input would pass
// unnoticed.
func mustOpen(f *testing.F, rt *Runtime, path string, want ...string) {
	f.Helper()
	in, err := rt.openInput(context.Background(), path)
	if err != nil {
		f.Fatalf("the harness cannot open its own fixture: %v", err)
	}
	defer in.release()
	if len(in.sources) != 1 || !slices.Equal(in.sources[0].names, want) {
		f.Fatalf("the fixture opened as %+v, want one image named %q", in.sources, want)
	}
}

// The load targets write their input to one scratch path per fuzzing process, rewritten for
// each input: a new temp dir per input would cost more than what is fuzzed.

// FuzzLoadArchive: any bytes given to Load as a file (plain or compressed tar, or not)
// are opened as an image archive or refused as checkOpened requires.
func FuzzLoadArchive(f *testing.F) {
	rt, _ := newTestRuntime(f)
	mustOpen(f, rt, testdataPath("tiny.oci.tar"), "localhost/tiny:latest")
	path := filepath.Join(f.TempDir(), "input")
	f.Fuzz(func(t *testing.T, data []byte) {
		writeFile(t, path, string(data))
		checkOpened(t, rt, path)
	})
}

// FuzzLoadDockerManifest: any bytes as the manifest.json of tiny.docker.tar.
func FuzzLoadDockerManifest(f *testing.F) {
	rt, _ := newTestRuntime(f)
	entries := readEntries(f, testdataPath("tiny.docker.tar"))
	mustOpen(f, rt, writeArchive(f, entries), "localhost/tiny:latest")
	path := filepath.Join(f.TempDir(), "archive.tar")
	f.Fuzz(func(t *testing.T, manifest []byte) {
		edited := mutate(entries, "manifest.json", func(e *archEntry) { e.setBody(manifest) })
		writeFile(t, path, string(tarBytes(t, edited)))
		checkOpened(t, rt, path)
	})
}

// FuzzLoadOCIIndex: any bytes as the index.json of the OCI layout tiny.oci.
func FuzzLoadOCIIndex(f *testing.F) {
	rt, _ := newTestRuntime(f)
	dir := copyLayout(f, "tiny.oci")
	mustOpen(f, rt, dir, "localhost/tiny:latest")
	f.Fuzz(func(t *testing.T, index []byte) {
		writeFile(t, filepath.Join(dir, "index.json"), string(index))
		checkOpened(t, rt, dir)
	})
}

// FuzzLoadOCIManifest: any bytes as the manifest of the OCI layout tiny.oci, stored as the
// blob of its digest and named by the index, with the media type the input says (an OCI
// manifest, a Docker schema 2 manifest, an index, or none).
func FuzzLoadOCIManifest(f *testing.F) {
	rt, _ := newTestRuntime(f)
	dir := copyLayout(f, "tiny.oci")
	mustOpen(f, rt, dir, "localhost/tiny:latest")
	f.Fuzz(func(t *testing.T, mediaType string, manifest []byte) {
		sum := sha256.Sum256(manifest)
		blob := filepath.Join(dir, "blobs", "sha256", hex.EncodeToString(sum[:]))
		if _, err := os.Stat(blob); errors.Is(err, fs.ErrNotExist) {
			writeFile(t, blob, string(manifest))
			defer os.Remove(blob) // the fixture's own blobs stay
		}
		desc := map[string]any{"digest": "sha256:" + hex.EncodeToString(sum[:]), "size": len(manifest)}
		if mediaType != "" {
			desc["mediaType"] = mediaType
		}
		raw, err := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{desc}})
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "index.json"), string(raw))
		checkOpened(t, rt, dir)
	})
}

// copyLayout copies the layout testdata/<name> to a new temp dir and returns its path.
func copyLayout(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	if err := os.CopyFS(dir, os.DirFS(testdataPath(name))); err != nil {
		t.Fatal(err)
	}
	return dir
}
