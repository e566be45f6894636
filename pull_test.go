package image

import (
	"context"
	"testing"
)

func TestPullPlain(t *testing.T) {
	reg := startRegistry(t, nil)
	want := readFacts(t, "busybox")
	d := seed(t, reg, "oci-archive:"+testdataPath("busybox.oci.tar"), "lib/busybox:1")
	if d.String() != want.ManifestDigests["registry_after_skopeo_copy"] {
		t.Errorf("registry manifest digest %s, skopeo recorded %s", d, want.ManifestDigests["registry_after_skopeo_copy"])
	}
	rt, rec := newPullRuntime(t, reg.Host)
	name := reg.Host + "/lib/busybox:1"
	images, err := rt.Pull(context.Background(), name, PullMissing, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 || images[0].ID() != want.ID {
		t.Fatalf("pulled %v, want one image %s", images, want.ID)
	}
	if got := images[0].Names(); len(got) != 1 || got[0] != name {
		t.Errorf("names %v, want [%s]", got, name)
	}
	if images[0].Digest() != d {
		t.Errorf("digest %s, want %s", images[0].Digest(), d)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0] != (Event{Type: EventPull, ID: want.ID, Name: name}) {
		t.Errorf("events %+v", ev)
	}
}
