package image

import (
	"context"
	"crypto/sha256"
	"sort"
	"strconv"
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
	g, err := i.snapshotGraph()
	if err != nil {
		return nil, err
	}
	return g.parent(ctx, g.image(i))
}

// Children returns the images whose parent (by the rule of Parent) is this image, ordered by
// ID. An Image from ListImages answers from that call's snapshot.
func (i *Image) Children(ctx context.Context) ([]*Image, error) {
	g, err := i.snapshotGraph()
	if err != nil {
		return nil, err
	}
	return g.children(ctx, g.image(i))
}

// HasChildren reports whether any image has this one as its parent.
func (i *Image) HasChildren(ctx context.Context) (bool, error) {
	kids, err := i.Children(ctx)
	return len(kids) > 0, err
}

// IsDangling reports whether the image has no names and no children: nothing refers to it,
// and pruning removes it.
func (i *Image) IsDangling(ctx context.Context) (bool, error) {
	g, err := i.snapshotGraph()
	if err != nil {
		return false, err
	}
	return g.isDangling(ctx, g.image(i))
}

// IsIntermediate reports whether the image has no names but has children: a step of a build
// that images in the store are built on. `imagectl images` hides these unless --all.
func (i *Image) IsIntermediate(ctx context.Context) (bool, error) {
	g, err := i.snapshotGraph()
	if err != nil {
		return false, err
	}
	return g.isIntermediate(ctx, g.image(i))
}

func (g *graph) isDangling(ctx context.Context, img *Image) (bool, error) {
	if len(img.Names()) > 0 {
		return false, nil
	}
	kids, err := g.children(ctx, img)
	return len(kids) == 0, err
}

func (g *graph) isIntermediate(ctx context.Context, img *Image) (bool, error) {
	if len(img.Names()) > 0 {
		return false, nil
	}
	kids, err := g.children(ctx, img)
	return len(kids) > 0, err
}

// snapshotGraph returns the graph the Image was listed from, or a new one.
func (i *Image) snapshotGraph() (*graph, error) {
	i.mu.Lock()
	g := i.graph
	i.mu.Unlock()
	if g != nil {
		return g, nil
	}
	return i.runtime.newGraph()
}

// children returns the images whose parent is img: candidates are the images on img's top
// layer and on the layers directly above it.
func (g *graph) children(ctx context.Context, img *Image) ([]*Image, error) {
	var candidates []*Image
	if top := img.TopLayer(); top == "" {
		candidates = append(candidates, g.noLayers...)
		for _, base := range g.baseLayers() {
			candidates = append(candidates, g.byTopLayer[base]...)
		}
	} else {
		candidates = append(candidates, g.byTopLayer[top]...)
		for _, above := range g.layerChildren[top] {
			candidates = append(candidates, g.byTopLayer[above]...)
		}
	}
	var kids []*Image
	for _, c := range candidates {
		if c.ID() == img.ID() {
			continue
		}
		p, err := g.parent(ctx, c)
		if err != nil {
			return nil, err
		}
		if p != nil && p.ID() == img.ID() {
			kids = append(kids, c)
		}
	}
	sort.Slice(kids, func(a, b int) bool { return kids[a].ID() < kids[b].ID() })
	return kids, nil
}

// baseLayers returns the layers without a parent that are some image's top layer.
func (g *graph) baseLayers() []string {
	var out []string
	for top := range g.byTopLayer {
		if g.layerParent[top] == "" {
			out = append(out, top)
		}
	}
	return out
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

// parent returns img's parent, computed once per graph.
func (g *graph) parent(ctx context.Context, img *Image) (*Image, error) {
	g.mu.Lock()
	p, done := g.parentOf[img.ID()]
	g.mu.Unlock()
	if done {
		return p, nil
	}
	p, err := g.findParent(ctx, img)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.parentOf[img.ID()] = p
	g.mu.Unlock()
	return p, nil
}

func (g *graph) findParent(ctx context.Context, img *Image) (*Image, error) {
	if !img.hasConfig() {
		return nil, nil // a manifest list, or a record without its config: no history to match
	}
	ic, err := img.imageConfig(ctx)
	if err != nil {
		return nil, err
	}
	cfg := &ic.oci
	if len(cfg.History) == 0 {
		return nil, nil
	}
	_, want := ic.historyKeys()
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
		if !img.hasConfig() {
			continue // nobody's parent (findParent)
		}
		cfg, err := img.imageConfig(ctx)
		if err != nil {
			return nil, err
		}
		k, _ := cfg.historyKeys()
		idx[k] = append(idx[k], img)
	}
	g.historyIndex[layer] = idx
	return idx[key], nil
}

// The historyKey of a history digests the fields sameHistoryEntry compares, for every entry:
// the key of an empty history is "", and each entry chains onto the key of the entries before
// it (historyKeyStep), so the keys of every prefix of a history cost one pass
// (imageConfig.historyKeys).

// historyKeyStep returns the key of a history whose entries before e have the key prev.
func historyKeyStep(prev string, e imgspecv1.History) string {
	buf := make([]byte, 0, len(prev)+len(e.CreatedBy)+len(e.Author)+len(e.Comment)+64)
	buf = append(buf, prev...)
	if e.Created != nil {
		buf = e.Created.UTC().AppendFormat(buf, time.RFC3339Nano)
	}
	for _, f := range []string{e.CreatedBy, e.Author, e.Comment} {
		buf = append(buf, ' ')
		buf = strconv.AppendQuote(buf, f)
	}
	buf = strconv.AppendBool(append(buf, ' '), e.EmptyLayer)
	sum := sha256.Sum256(buf)
	return string(sum[:])
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
