package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// TestListImages: every image of the reference store, newest first, each with its recorded
// ID, names, size and parent.
func TestListImages(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, referenceOrder...)
	images, err := rt.ListImages(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != len(recordedImages) {
		t.Fatalf("%d images, want %d", len(images), len(recordedImages))
	}
	byID := map[string]*Image{}
	for k, img := range images {
		byID[img.ID()] = img
		if k > 0 && img.Created().After(images[k-1].Created()) {
			t.Errorf("image %d (%s) is newer than image %d", k, img.ID(), k-1)
		}
	}
	for _, rec := range recordedImages {
		want := readRecordedInspect(t, rec.stem)
		img := byID[want["Id"].(string)]
		if img == nil {
			t.Errorf("%s: image %s not listed", rec.stem, want["Id"])
			continue
		}
		if got := asStrings(img.RepoTags()); !reflect.DeepEqual(got, want["RepoTags"]) {
			t.Errorf("%s: RepoTags %v, recorded %v", rec.stem, got, want["RepoTags"])
		}
		size, err := img.Size()
		if err != nil || float64(size) != want["Size"].(float64) {
			t.Errorf("%s: Size %d (%v), recorded %v", rec.stem, size, err, want["Size"])
		}
		parent, err := img.Parent(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		gotParent := ""
		if parent != nil {
			gotParent = parent.ID()
		}
		if gotParent != want["Parent"] {
			t.Errorf("%s: Parent %q, recorded %q", rec.stem, gotParent, want["Parent"])
		}
		if !img.Created().Equal(mustTime(t, want["Created"].(string))) {
			t.Errorf("%s: Created %v, recorded %v", rec.stem, img.Created(), want["Created"])
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func asStrings(list []string) []any {
	out := []any{}
	for _, s := range list {
		out = append(out, s)
	}
	return out
}

// TestNewRuntime: a nil store is refused; options are copied, so changing the caller's
// struct afterwards changes nothing; defaults are filled in.
func TestNewRuntime(t *testing.T) {
	if _, err := NewRuntime(nil, nil); err == nil {
		t.Error("NewRuntime(nil) succeeded")
	}
	rt, _ := newTestRuntime(t)
	sys := &types.SystemContext{SignaturePolicyPath: "/a/policy.json"}
	rt2, err := NewRuntime(rt.Store(), &RuntimeOptions{SystemContext: sys})
	if err != nil {
		t.Fatal(err)
	}
	sys.SignaturePolicyPath = "/changed"
	got := rt2.SystemContext()
	if got.SignaturePolicyPath != "/a/policy.json" {
		t.Errorf("runtime saw the caller's change: %q", got.SignaturePolicyPath)
	}
	if want := filepath.Join(rt.Store().GraphRoot(), "image-tmp"); filepath.Dir(got.BigFilesTemporaryDir) != want ||
		!strings.HasPrefix(filepath.Base(got.BigFilesTemporaryDir), fmt.Sprintf("image-rt-%d-", os.Getpid())) {
		t.Errorf("temp dir %q, want %s/image-rt-<pid>-<random>", got.BigFilesTemporaryDir, want)
	}
	if want := filepath.Join(rt.Store().GraphRoot(), "cache"); got.BlobInfoCacheDir != want {
		t.Errorf("blob info cache dir %q, want %q", got.BlobInfoCacheDir, want)
	}
	got.SignaturePolicyPath = "/again"
	if rt2.SystemContext().SignaturePolicyPath != "/a/policy.json" {
		t.Error("SystemContext returned the runtime's own copy")
	}
	// A Runtime over a caller's store does not shut it down.
	if err := rt2.Shutdown(false); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Store().Images(); err != nil {
		t.Errorf("store unusable after Shutdown of a non-owning runtime: %v", err)
	}
}

// TestNewRuntimeFromStoreOptions: the runtime opens the store, works on it, and shuts it
// down.
func TestNewRuntimeFromStoreOptions(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	writeFile(t, policy, testPolicy)
	rt, err := NewRuntimeFromStoreOptions(storage.StoreOptions{
		GraphRoot: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run"), GraphDriverName: "vfs",
	}, &RuntimeOptions{SystemContext: &types.SystemContext{SignaturePolicyPath: policy}})
	if err != nil {
		t.Fatal(err)
	}
	mustLoad(t, rt, "tiny.docker.tar")
	if got := mustLookup(t, rt, "tiny").ID(); got != readFacts(t, "tiny").ID {
		t.Errorf("ID %s", got)
	}
	if err := rt.Shutdown(false); err != nil {
		t.Fatal(err)
	}
}

// TestLoadWithoutPolicy: with no policy file, a load fails saying so, and changes nothing.
func TestLoadWithoutPolicy(t *testing.T) {
	rt, _ := newTestRuntime(t)
	sys := rt.SystemContext()
	sys.SignaturePolicyPath = filepath.Join(t.TempDir(), "no-such-policy.json")
	rt2, err := NewRuntime(rt.Store(), &RuntimeOptions{SystemContext: sys})
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotStore(t, rt)
	_, err = rt2.Load(context.Background(), testdataPath("tiny.docker.tar"), nil)
	if !errors.Is(err, ErrNoPolicy) || !strings.Contains(err.Error(), sys.SignaturePolicyPath+`" does not exist`) {
		t.Fatalf("error %v, want ErrNoPolicy naming %s", err, sys.SignaturePolicyPath)
	}
	// A stream is not read at all: the policy is checked first.
	if _, err = rt2.LoadReader(context.Background(), errReader{}, nil); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("LoadReader: %v, want ErrNoPolicy before the stream is read", err)
	}
	assertUnchanged(t, rt, before)
}

// TestLoadWithInvalidPolicy: a policy file that is there but not valid is reported as such,
// naming the file, not as a missing policy; nothing changes.
func TestLoadWithInvalidPolicy(t *testing.T) {
	rt, _ := newTestRuntime(t)
	before := snapshotStore(t, rt)
	policy := rt.SystemContext().SignaturePolicyPath
	writeFile(t, policy, "this is not JSON")
	_, err := rt.Load(context.Background(), testdataPath("tiny.docker.tar"), nil)
	if err == nil || errors.Is(err, ErrNoPolicy) || !strings.Contains(err.Error(), policy) {
		t.Fatalf("error %v, want one naming the invalid file %s", err, policy)
	}
	assertUnchanged(t, rt, before)
}

// TestSizeFromSnapshot: the size of a listed image, computed from the listing's snapshot, is
// what c/storage's ImageSize says, for layered images, config-only steps, images without
// layers and a real archive; an image not from a listing asks the store.
func TestSizeFromSnapshot(t *testing.T) {
	rt, _, s := newSynthRuntime(t)
	ctx := context.Background()
	base := s.build(step{content: 3000, names: []string{"localhost/base:latest"}})
	mid := s.build(step{parent: base, content: 1200})
	s.build(step{parent: mid, names: []string{"localhost/config-only:latest"}})
	s.build(step{names: []string{"localhost/nolayers:latest"}})
	mustLoad(t, rt, "busybox.docker.tar")
	images, err := rt.ListImages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 5 {
		t.Fatalf("%d images, want 5", len(images))
	}
	for _, img := range images {
		t.Run(img.ID()[:12], func(t *testing.T) {
			want, err := rt.store.ImageSize(img.ID())
			if err != nil {
				t.Fatal(err)
			}
			if got, err := img.Size(); err != nil || got != want {
				t.Errorf("listed image: Size %d (%v), c/storage says %d", got, err, want)
			}
			looked := mustLookup(t, rt, img.ID())
			if got, err := looked.Size(); err != nil || got != want {
				t.Errorf("looked-up image: Size %d (%v), c/storage says %d", got, err, want)
			}
		})
	}
}
