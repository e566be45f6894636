package image

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/storage"
)

// addManifestList stores a manifest list the way podman 4.3's "manifest create" and
// "manifest add" do: a record with a random ID, no layers and no config, whose "manifest"
// item is an OCI index of instances, and an "instances.json" item. It returns the record's ID.
func addManifestList(t *testing.T, rt *Runtime, name string, instances ...*Image) string {
	t.Helper()
	idx := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{}}
	idx.SchemaVersion = 2
	for _, img := range instances {
		raw, mimeType, err := img.Manifest(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		idx.Manifests = append(idx.Manifests, imgspecv1.Descriptor{
			MediaType: mimeType, Digest: digest.FromBytes(raw), Size: int64(len(raw)),
			Platform: &imgspecv1.Platform{OS: "linux", Architecture: "amd64"},
		})
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rt.store.CreateImage("", []string{name}, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.store.SetImageBigData(rec.ID, storage.ImageDigestBigDataKey, raw, manifest.Digest); err != nil {
		t.Fatal(err)
	}
	if err := rt.store.SetImageBigData(rec.ID, "instances.json", []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

// TestManifestList: a manifest list in the store (podman's) is listed, tagged, untagged and
// removed like an image; it is nobody's parent or child; reading its config, history or
// inspect data, saving and pushing it fail with ErrManifestList and change nothing; crash
// cleanup keeps it.
func TestManifestList(t *testing.T) {
	ctx := context.Background()
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, "busybox.docker.tar")
	busybox := mustLookup(t, rt, "busybox")
	listID := addManifestList(t, rt, "localhost/mylist:latest", busybox)
	emptyID := addManifestList(t, rt, "localhost/empty:latest")

	all, err := rt.ListImages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, img := range all {
		ids = append(ids, img.ID())
	}
	slices.Sort(ids)
	want := []string{busybox.ID(), listID, emptyID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("listed %v, want %v", ids, want)
	}

	list := mustLookup(t, rt, "mylist")
	if list.ID() != listID || !list.IsManifestList() || busybox.IsManifestList() {
		t.Fatalf("IsManifestList: list %s %v, busybox %v", list.ID(), list.IsManifestList(), busybox.IsManifestList())
	}
	if !mustLookup(t, rt, "empty").IsManifestList() {
		t.Fatal("an empty list is a manifest list too")
	}
	if kids, err := busybox.Children(ctx); err != nil || len(kids) != 0 {
		t.Fatalf("busybox's children: %v, %v (a list is no child)", kids, err)
	}
	if p, err := list.Parent(ctx); err != nil || p != nil {
		t.Fatalf("the list's parent: %v, %v", p, err)
	}
	if d, err := busybox.IsDangling(ctx); err != nil || d {
		t.Fatalf("busybox dangling: %v, %v", d, err)
	}
	for _, f := range []string{"dangling=true", "intermediate=true", "label=a=b"} {
		if got, err := rt.ListImages(ctx, &ListOptions{Filters: []string{f}}); err != nil || len(got) != 0 {
			t.Fatalf("%s: %d images, %v; want none", f, len(got), err)
		}
	}
	if got, err := rt.ListImages(ctx, &ListOptions{Filters: []string{"label!=a"}}); err != nil || len(got) != 3 {
		t.Fatalf("label!=a: %d images, %v; want all 3", len(got), err)
	}
	if labels, err := list.Labels(ctx); err != nil || labels != nil {
		t.Fatalf("Labels of a list: %v, %v; want none, as podman", labels, err)
	}

	before := snapshotStore(t, rt)
	if _, err := list.Config(ctx); !errors.Is(err, ErrManifestList) {
		t.Errorf("Config: %v, want ErrManifestList", err)
	}
	if _, err := list.History(ctx); !errors.Is(err, ErrManifestList) {
		t.Errorf("History: %v, want ErrManifestList", err)
	}
	if _, err := list.Inspect(ctx, nil); !errors.Is(err, ErrManifestList) {
		t.Errorf("Inspect: %v, want ErrManifestList", err)
	}
	out := filepath.Join(t.TempDir(), "out.tar")
	if err := rt.Save(ctx, []string{"mylist"}, out, nil); !errors.Is(err, ErrManifestList) {
		t.Errorf("Save: %v, want ErrManifestList", err)
	}
	if _, err := list.Push(ctx, "dir:"+t.TempDir(), nil); !errors.Is(err, ErrManifestList) {
		t.Errorf("Push: %v, want ErrManifestList", err)
	}
	assertUnchanged(t, rt, before)

	removeInterrupted(rt.store) // what runs after a crash of ours
	assertUnchanged(t, rt, before)

	if _, err := list.Tag("localhost/other:1"); err != nil {
		t.Fatal(err)
	}
	if err := list.Untag("localhost/other:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.RemoveImages(ctx, []string{"mylist", "empty"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.store.Image(busybox.ID()); err != nil {
		t.Fatalf("removing the lists removed their instance: %v", err)
	}
	if _, err := rt.store.Image(listID); !errors.Is(err, storage.ErrImageUnknown) {
		t.Fatalf("the list is still there: %v", err)
	}
}

// TestInspectAfterSecondLoad: an image loaded from a docker-archive and then from an OCI
// archive is inspected with the manifest written last, as podman 4.3 reports it after the same
// two loads (application/vnd.oci.image.manifest.v1+json, Digest the first manifest's, both
// repo digests).
func TestInspectAfterSecondLoad(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, "busybox.docker.tar", "busybox.oci.tar")
	data, err := mustLookup(t, rt, "busybox").Inspect(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantDigests := []string{
		"localhost/busybox@sha256:485a25257b878e7819a59c7a3b8b3bcadd5a12eb525715fd770fca9d532b0b0b",
		"localhost/busybox@sha256:7e389ac8008267cb1ce7adf3ac93ef1c73e6609c81798246e7be16dfe2e06399",
	}
	if data.ManifestType != imgspecv1.MediaTypeImageManifest ||
		data.Digest != "sha256:7e389ac8008267cb1ce7adf3ac93ef1c73e6609c81798246e7be16dfe2e06399" ||
		!slices.Equal(data.RepoDigests, wantDigests) {
		t.Fatalf("inspect: %s %s %v, want podman's", data.ManifestType, data.Digest, data.RepoDigests)
	}
}
