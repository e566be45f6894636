package image

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// minPrefetch is the fewest configs worth reading on several goroutines.
const minPrefetch = 8

// prefetchConfigs reads and decodes the configs of imgs, and their history keys, on up to
// GOMAXPROCS goroutines (at most 8), so that the walk that needs them next, one at a time,
// finds them in the cache. It reads only what that walk would read; errors are left for the
// walk to meet and report.
func prefetchConfigs(ctx context.Context, imgs []*Image) {
	workers := min(runtime.GOMAXPROCS(0), 8, len(imgs)/2)
	if len(imgs) < minPrefetch || workers < 2 {
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < len(imgs) && ctx.Err() == nil; k = int(next.Add(1) - 1) {
				if !imgs[k].hasConfig() {
					continue
				}
				if cfg, err := imgs[k].imageConfig(ctx); err == nil {
					cfg.historyKeys()
				}
			}
		})
	}
	wg.Wait()
}

// prefetchChildren prefetches the configs that deciding whether the untagged images have
// children reads (the dangling and intermediate filters): for an untagged image with other
// images on its top layer or on the layers directly above it, those images and itself.
func (g *graph) prefetchChildren(ctx context.Context) {
	var todo []*Image
	seen := map[*Image]bool{}
	add := func(img *Image) {
		if !seen[img] {
			seen[img] = true
			todo = append(todo, img)
		}
	}
	for _, img := range g.images {
		top := img.TopLayer()
		if top == "" || len(img.snapshot().Names) > 0 {
			continue
		}
		n := len(todo)
		for _, c := range g.byTopLayer[top] {
			if c != img {
				add(c)
			}
		}
		for _, above := range g.layerChildren[top] {
			for _, c := range g.byTopLayer[above] {
				add(c)
			}
		}
		if len(todo) > n {
			add(img)
		}
	}
	prefetchConfigs(ctx, todo)
}

// prefetchHistory prefetches the configs History reads for an image on top whose history
// starts with an empty step (emptyFirst) or not: those of the images on each layer of its
// chain, and, after an empty first step, of the images without layers.
func (g *graph) prefetchHistory(ctx context.Context, top string, emptyFirst bool) {
	var todo []*Image
	if emptyFirst {
		todo = append(todo, g.noLayers...)
	}
	for _, l := range g.layerChain(top) {
		todo = append(todo, g.byTopLayer[l]...)
	}
	prefetchConfigs(ctx, todo)
}
