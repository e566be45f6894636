package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/errors"
	"go.podman.io/image/v5/docker/reference"
)

// This file gives every entry point that takes a name the invalid names of invalidNames
// (lookup_test.go) and ambiguous ID prefixes: each call must fail with an error that quotes
// the input and wraps the documented sentinel, and change nothing (the store's images, names
// and layers are compared before and after each call; no event but pull-error is written).

// badNameFixture is a store with busybox (ID 63af…) and tiny-whiteout (ID 6adb…): the
// recorded IDs share the prefix "6", which is ambiguous.
type badNameFixture struct {
	rt  *Runtime
	rec *recorder
	// before is the store as loaded, which no call of these tests may change.
	before storeState
}

// ambiguousPrefix is the ID prefix busybox and tiny-whiteout share (checked by the fixture
// against the recorded IDs).
const ambiguousPrefix = "6"

func newBadNameFixture(t *testing.T, searchRegistry string) *badNameFixture {
	t.Helper()
	rt, rec := newTestRuntime(t)
	if searchRegistry != "" {
		useRegistries(t, rt, []string{searchRegistry}, "permissive", "", searchRegistry)
	}
	mustLoad(t, rt, "busybox.docker.tar", "tiny-whiteout.docker.tar")
	for _, name := range []string{"busybox", "tiny-whiteout"} {
		if id := recordedIDDigest(t, name).ID; id[:len(ambiguousPrefix)] != ambiguousPrefix {
			t.Fatalf("recorded ID of %s is %s: the prefix %q is not shared", name, id, ambiguousPrefix)
		}
	}
	rec.take()
	return &badNameFixture{rt: rt, rec: rec, before: snapshotStore(t, rt)}
}

// assertNothingChanged fails unless the store is as loaded and the events are want.
func (f *badNameFixture) assertNothingChanged(t *testing.T, want ...Event) {
	t.Helper()
	assertUnchanged(t, f.rt, f.before)
	assertEvents(t, f.rec, want...)
}

// refSentinel is what an entry point that looks images up (LookupImage, RemoveImages, Save)
// answers for an invalid name: ErrInvalidName, or ErrImageUnknown for the 64-hex and digest
// forms, which are IDs there.
func refSentinel(lookup error) error {
	if lookup == nil {
		return ErrInvalidName
	}
	return lookup
}

// TestInvalidNamesRemove: RemoveImages refuses an invalid name before it removes anything,
// even when valid names come before it in the same call.
func TestInvalidNamesRemove(t *testing.T) {
	f := newBadNameFixture(t, "")
	ctx := context.Background()
	for _, tt := range invalidNames {
		t.Run(tt.what, func(t *testing.T) {
			calls := [][]string{{tt.in}}
			if tt.lookup == nil {
				// A name that can never match stops the whole call, valid names beside it too.
				// (The 64-hex and digest forms are IDs: not found, as one argument among others.)
				calls = append(calls, []string{"tiny-whiteout", tt.in}, []string{tt.in, "busybox"})
			}
			for _, names := range calls {
				reports, err := f.rt.RemoveImages(ctx, names, &RemoveOptions{Force: true})
				if len(reports) != 0 {
					t.Errorf("RemoveImages(%q) reported %+v", names, reports)
				}
				assertErrorQuotes(t, err, refSentinel(tt.lookup), tt.in)
				f.assertNothingChanged(t)
			}
		})
	}
}

// TestInvalidNamesSave: Save refuses invalid names, as image names and as additional tags,
// and a destination path that no file can have, before writing anything.
func TestInvalidNamesSave(t *testing.T) {
	f := newBadNameFixture(t, "")
	ctx := context.Background()
	for _, tt := range invalidNames {
		t.Run(tt.what, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.tar")
			for _, names := range [][]string{{tt.in}, {"busybox", tt.in}} {
				err := f.rt.Save(ctx, names, path, nil)
				assertErrorQuotes(t, err, refSentinel(tt.lookup), tt.in)
			}
			err := f.rt.Save(ctx, []string{"busybox"}, path, &SaveOptions{AdditionalTags: []string{"good:1", tt.in}})
			assertErrorQuotes(t, err, ErrInvalidName, tt.in)
			assertEmptyDir(t, dir)
			f.assertNothingChanged(t)
		})
	}
	t.Run("NUL in path", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "out\x00.tar")
		err := f.rt.Save(ctx, []string{"busybox"}, path, nil)
		assertErrorQuotes(t, err, ErrInvalidSaveRequest, path)
		assertEmptyDir(t, dir)
		f.assertNothingChanged(t)
	})
}

// TestInvalidNamesImport: Import refuses an invalid ImportOptions.Name before it reads its
// source or writes anything.
func TestInvalidNamesImport(t *testing.T) {
	f := newBadNameFixture(t, "")
	rootfs := busyboxRootfs(t)
	for _, tt := range invalidNames {
		if tt.in == "" {
			continue // no name: the image is unnamed
		}
		t.Run(tt.what, func(t *testing.T) {
			id, err := f.rt.Import(context.Background(), rootfs, &ImportOptions{Name: tt.in})
			if id != "" {
				t.Errorf("Import returned ID %s with its error", id)
			}
			assertErrorQuotes(t, err, ErrInvalidName, tt.in)
			assertEmptyDir(t, f.rt.SystemContext().BigFilesTemporaryDir)
			f.assertNothingChanged(t)
		})
	}
}

// TestInvalidNamesPull: Pull refuses an invalid name under every policy before it asks a
// registry anything (the search registry counts every request it gets), with one pull-error
// event.
func TestInvalidNamesPull(t *testing.T) {
	reg := startRegistry(t, nil)
	f := newBadNameFixture(t, reg.Host)
	ctx := context.Background()
	for _, tt := range invalidNames {
		if tt.in == "" {
			continue // the empty name: see the case below
		}
		t.Run(tt.what, func(t *testing.T) {
			names := []string{tt.in, "docker://" + tt.in}
			// Behind a registry host, the 64-hex and digest forms are valid repository
			// names and tags ("host/sha256:0123"): only what the reference grammar
			// (distribution's, through c/image) refuses is tried there.
			if qualified := reg.Host + "/" + tt.in; !validReference(qualified) {
				names = append(names, qualified)
			}
			for _, name := range names {
				for _, policy := range []PullPolicy{PullAlways, PullMissing, PullNewer, PullNever} {
					images, err := f.rt.Pull(ctx, name, policy, nil)
					if images != nil {
						t.Errorf("Pull(%q, %s) returned %d images", name, policy, len(images))
					}
					if !errors.Is(err, ErrInvalidName) {
						t.Fatalf("Pull(%q, %s) = %v, want ErrInvalidName", name, policy, err)
					}
					assertErrorQuotes(t, err, ErrInvalidName, name)
					f.assertNothingChanged(t, Event{Type: EventPullError, Name: name, Error: err})
				}
			}
		})
	}
	images, err := f.rt.Pull(ctx, "", PullAlways, nil)
	if images != nil {
		t.Errorf("Pull of the empty name returned %d images", len(images))
	}
	assertErrorQuotes(t, err, ErrInvalidName, "")
	f.assertNothingChanged(t, Event{Type: EventPullError, Name: "", Error: err})
	if n := reg.Stats().Requests; n != 0 {
		t.Errorf("the registry got %d requests for invalid names", n)
	}
}

// TestAmbiguousPrefix: an ID prefix two images share is ErrAmbiguous for every entry point
// that looks images up, and acts on neither image.
func TestAmbiguousPrefix(t *testing.T) {
	reg := startRegistry(t, nil)
	f := newBadNameFixture(t, reg.Host)
	ctx := context.Background()
	in := ambiguousPrefix
	img, resolved, err := f.rt.LookupImage(in, nil)
	if img != nil || resolved != "" {
		t.Errorf("LookupImage(%q) = %v, %q", in, img, resolved)
	}
	assertErrorQuotes(t, err, ErrAmbiguous, in)
	reports, err := f.rt.RemoveImages(ctx, []string{in}, &RemoveOptions{Force: true})
	if len(reports) != 0 {
		t.Errorf("RemoveImages reported %+v", reports)
	}
	assertErrorQuotes(t, err, ErrAmbiguous, in)
	dir := t.TempDir()
	assertErrorQuotes(t, f.rt.Save(ctx, []string{"busybox", in}, filepath.Join(dir, "out.tar"), nil), ErrAmbiguous, in)
	assertEmptyDir(t, dir)
	f.assertNothingChanged(t)
	// A pull that looks the name up first finds it ambiguous, as podman does; PullAlways
	// takes "6" as a registry name and is not tried here.
	for _, policy := range []PullPolicy{PullMissing, PullNewer, PullNever} {
		images, err := f.rt.Pull(ctx, in, policy, nil)
		if images != nil {
			t.Errorf("Pull(%q, %s) returned %d images", in, policy, len(images))
		}
		assertErrorQuotes(t, err, ErrAmbiguous, in)
		f.assertNothingChanged(t, Event{Type: EventPullError, Name: in, Error: err})
	}
	if n := reg.Stats().Requests; n != 0 {
		t.Errorf("the registry got %d requests for an ambiguous local name", n)
	}
	// One more digit tells them apart.
	for _, name := range []string{"busybox", "tiny-whiteout"} {
		id := recordedIDDigest(t, name).ID
		if got := mustLookup(t, f.rt, id[:2]).ID(); got != id {
			t.Errorf("LookupImage(%q) = %s, want %s's %s", id[:2], got, name, id)
		}
	}
}

// TestInvalidNamesInArchives: names inside archives are data. A docker-archive whose
// RepoTags hold an invalid name and an OCI layout whose io.containerd.image.name does are
// refused before anything is written (also when the bad name belongs to the second image of
// the archive); an org.opencontainers.image.ref.name that is no valid name with a tag is
// not a name (it may be a bare tag), so the image is loaded unnamed.
func TestInvalidNamesInArchives(t *testing.T) {
	f := newBadNameFixture(t, "")
	ctx := context.Background()
	for _, tt := range invalidNames {
		if tt.in == "" {
			continue // an empty RepoTags entry or annotation is tested as "no name" elsewhere
		}
		t.Run(tt.what, func(t *testing.T) {
			for _, archive := range []string{"tiny.docker.tar", "chain.multi.docker.tar"} {
				path := withRepoTag(t, archive, tt.in)
				res, err := f.rt.Load(ctx, path, nil)
				if res != nil && len(res.Images) != 0 {
					t.Errorf("%s: loaded %+v", archive, res.Images)
				}
				assertErrorQuotes(t, err, ErrInvalidName, tt.in)
				f.assertNothingChanged(t)
			}
			dir := copyOCIDir(t, "tiny.oci", map[string]string{annotationContainerdName: tt.in})
			res, err := f.rt.Load(ctx, dir, nil)
			if res != nil && len(res.Images) != 0 {
				t.Errorf("oci-dir: loaded %+v", res.Images)
			}
			assertErrorQuotes(t, err, ErrInvalidName, tt.in)
			f.assertNothingChanged(t)
		})
	}
}

// TestInvalidRefNameLoadsUnnamed: an org.opencontainers.image.ref.name that is not a valid
// full name loads the image without a name.
func TestInvalidRefNameLoadsUnnamed(t *testing.T) {
	tiny := readFacts(t, "tiny").ID
	for _, tt := range invalidNames {
		t.Run(tt.what, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			dir := copyOCIDir(t, "tiny.oci", map[string]string{"org.opencontainers.image.ref.name": tt.in})
			res, err := rt.Load(context.Background(), dir, nil)
			if err != nil {
				t.Fatalf("loading with ref.name %q: %v", tt.in, err)
			}
			if len(res.Images) != 1 || res.Images[0].ID != tiny || len(res.Images[0].Names) != 0 {
				t.Errorf("loaded %+v, want %s unnamed", res.Images, tiny)
			}
			if names := mustLookup(t, rt, tiny).Names(); len(names) != 0 {
				t.Errorf("stored names %q", names)
			}
		})
	}
}

// withRepoTag copies testdata/<archive> with the RepoTags of its last manifest.json entry
// replaced by ["localhost/good:1", name].
func withRepoTag(t *testing.T, archive, name string) string {
	t.Helper()
	entries := readEntries(t, testdataPath(archive))
	entries = editManifestJSON(t, entries, func(items []map[string]any) {
		items[len(items)-1]["RepoTags"] = []string{"localhost/good:1", name}
	})
	path := writeArchive(t, entries)
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// validReference reports whether the reference grammar (c/image's copy of distribution's)
// accepts s as a name with the docker.io normalization.
func validReference(s string) bool {
	_, err := reference.ParseNormalizedNamed(s)
	return err == nil
}
