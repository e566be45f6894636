package image

import (
	"context"
	"sort"

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

// parentCandidates returns the images that could be img's parent by layers alone.
func (g *graph) parentCandidates(img *Image) []*Image {
	top := img.TopLayer()
	if top == "" {
		return g.noLayers
	}
	candidates := append([]*Image(nil), g.byTopLayer[top]...)
	if below := g.layerParent[top]; below != "" {
		candidates = append(candidates, g.byTopLayer[below]...)
	} else {
		// A base layer: an image without layers can be the parent.
		candidates = append(candidates, g.noLayers...)
	}
	return candidates
}

func (g *graph) parent(ctx context.Context, img *Image) (*Image, error) {
	candidates := g.parentCandidates(img)
	if len(candidates) == 0 {
		return nil, nil
	}
	cfg, err := img.Config(ctx)
	if err != nil {
		return nil, err
	}
	var found []*Image
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
	if len(found) == 0 {
		return nil, nil
	}
	sort.Slice(found, func(a, b int) bool { return found[a].ID() < found[b].ID() })
	return found[0], nil
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
