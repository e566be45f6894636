package image

import (
	"context"
	"testing"
)

// BenchmarkLoadLayerLimit measures what MaxLayerUncompressedBytes costs: Load of busybox
// (one 2 MiB layer) and of layers20 (20 layers) into an empty store, with and without the
// limit (one more read and decompression of every layer).
func BenchmarkLoadLayerLimit(b *testing.B) {
	for _, archive := range []string{"busybox.docker.tar", "layers20.docker.tar"} {
		for _, limit := range []int64{0, 1 << 30} {
			name := archive + "/no-limit"
			if limit > 0 {
				name = archive + "/limit"
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					rt, _ := newTestRuntime(b)
					b.StartTimer()
					if _, err := rt.Load(context.Background(), testdataPath(archive), &LoadOptions{MaxLayerUncompressedBytes: limit}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		// the check alone: what the limit adds to a load
		b.Run(archive+"/check-only", func(b *testing.B) {
			rt, _ := newTestRuntime(b)
			in, err := rt.openInput(context.Background(), testdataPath(archive))
			if err != nil {
				b.Fatal(err)
			}
			defer in.release()
			for b.Loop() {
				for _, src := range in.sources {
					if err := checkLayerLimits(context.Background(), rt.systemContext(), src.ref, 1<<30); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
