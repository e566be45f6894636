package image

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Parent returns the image this one was built on by one build step, or nil (and no error)
// when there is none in the store. B is the parent of C when C's history is B's history plus
// exactly one entry, and C's top layer is B's (the step changed only the config) or a layer
// directly on B's (the step added a layer); images without layers are related by history
// alone. A `parent` field in the config is not trusted. An Image from ListImages answers from
// that call's snapshot of the store; any other Image lists the store afresh. When several images qualify (same
// history, different configs), the one with the lowest ID is returned.
func (i *Image) Parent(ctx context.Context) (*Image, error) {
	i.mu.Lock()
	g := i.graph
	i.mu.Unlock()
	if g == nil {
		var err error
		if g, err = i.runtime.newGraph(); err != nil {
			return nil, err
		}
	}
	return g.parent(ctx, g.image(i))
}

// parentLayers returns the top layers a parent of img can have: img's own (a config-only
// step) and the one below it (a step that added a layer); "" stands for "no layers".
func (g *graph) parentLayers(img *Image) []string {
	top := img.TopLayer()
	if top == "" {
		return []string{""}
	}
	return []string{top, g.layerParent[top]}
}

func (g *graph) parent(ctx context.Context, img *Image) (*Image, error) {
	cfg, err := img.Config(ctx)
	if err != nil {
		return nil, err
	}
	if len(cfg.History) == 0 {
		return nil, nil
	}
	want := historyKey(cfg.History[:len(cfg.History)-1])
	var found []*Image
	for _, layer := range g.parentLayers(img) {
		candidates, err := g.withHistory(ctx, layer, want)
		if err != nil {
			return nil, err
		}
		for _, c := range candidates {
			if c.ID() == img.ID() {
				continue
			}
			ccfg, err := c.Config(ctx)
			if err != nil {
				return nil, err
			}
			if isOneStepOn(cfg.History, ccfg.History, c.TopLayer() == img.TopLayer()) {
				found = append(found, c)
			}
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	sort.Slice(found, func(a, b int) bool { return found[a].ID() < found[b].ID() })
	return found[0], nil
}

// withHistory returns the images whose top layer is layer ("" for none) and whose whole
// history has the given key. The index of a layer is built on first use, reading the config
// of each image on it once, so asking for the parents of every image costs O(images).
func (g *graph) withHistory(ctx context.Context, layer, key string) ([]*Image, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if idx, ok := g.historyIndex[layer]; ok {
		return idx[key], nil
	}
	images := g.byTopLayer[layer]
	if layer == "" {
		images = g.noLayers
	}
	idx := make(map[string][]*Image, len(images))
	for _, img := range images {
		cfg, err := img.Config(ctx)
		if err != nil {
			return nil, err
		}
		k := historyKey(cfg.History)
		idx[k] = append(idx[k], img)
	}
	g.historyIndex[layer] = idx
	return idx[key], nil
}

// historyKey digests the fields sameHistoryEntry compares, for every entry of hist.
func historyKey(hist []imgspecv1.History) string {
	h := sha256.New()
	for _, e := range hist {
		created := ""
		if e.Created != nil {
			created = e.Created.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(h, "%q %q %q %q %t\n", created, e.CreatedBy, e.Author, e.Comment, e.EmptyLayer)
	}
	return string(h.Sum(nil))
}

// isOneStepOn reports whether child is parent plus exactly one history entry, and that entry
// is empty exactly when the two images share their top layer.
func isOneStepOn(child, parent []imgspecv1.History, sameTop bool) bool {
	if len(child) != len(parent)+1 {
		return false
	}
	for k := range parent {
		if !sameHistoryEntry(child[k], parent[k]) {
			return false
		}
	}
	return child[len(parent)].EmptyLayer == sameTop
}

// sameHistoryEntry compares two history entries on created, created_by, author, comment and
// empty_layer.
func sameHistoryEntry(a, b imgspecv1.History) bool {
	if (a.Created == nil) != (b.Created == nil) {
		return false
	}
	if a.Created != nil && !a.Created.Equal(*b.Created) {
		return false
	}
	return a.CreatedBy == b.CreatedBy && a.Author == b.Author && a.Comment == b.Comment &&
		a.EmptyLayer == b.EmptyLayer
}
