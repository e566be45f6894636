package image

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/storage"
)

// fillStore adds n images on busybox's layer, each with its own config (a unique label and
// one more history entry than busybox, so busybox is every one's parent); 60% are named.
// It writes through c/storage directly: building thousands of images through c/image would
// take minutes (c/storage rewrites its index on every write).
func fillStore(b *testing.B, rt *Runtime, n int) {
	b.Helper()
	mustLoad(b, rt, "busybox.docker.tar")
	base := mustLookup(b, rt, "busybox")
	cfg, err := base.Config(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for k := 0; k < n; k++ {
		c := *cfg
		c.Config.Labels = map[string]string{"n": fmt.Sprint(k)}
		c.History = append(append([]imgspecv1.History(nil), cfg.History...),
			imgspecv1.History{CreatedBy: fmt.Sprintf("LABEL n=%d", k), EmptyLayer: true})
		raw, err := json.Marshal(c)
		if err != nil {
			b.Fatal(err)
		}
		id := digest.FromBytes(raw)
		var names []string
		if k%5 < 3 {
			names = []string{fmt.Sprintf("localhost/app-%04d:v1", k)}
		}
		opts := &storage.ImageOptions{BigData: []storage.ImageBigDataOption{{Key: id.String(), Data: raw, Digest: id}}}
		if _, err := rt.store.CreateImage(id.Encoded(), names, base.TopLayer(), "", opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListImages lists a store of 500 images and asks each for its parent: one snapshot
// of images and layers per call, each config read once.
func BenchmarkListImages(b *testing.B) {
	rt, _ := newTestRuntime(b)
	fillStore(b, rt, 500)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		images, err := rt.ListImages(ctx, nil)
		if err != nil || len(images) != 501 {
			b.Fatalf("%d images, %v", len(images), err)
		}
	}
}

// BenchmarkListImagesWithParents is ListImages plus Parent of every image, as `imagectl
// images --format json` needs: the images share one snapshot.
func BenchmarkListImagesWithParents(b *testing.B) {
	rt, _ := newTestRuntime(b)
	fillStore(b, rt, 500)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		images, err := rt.ListImages(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, img := range images {
			if _, err := img.Parent(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}
