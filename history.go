package image

import (
	"context"
	"time"
)

// HistoryEntry is one step of an image's history, as History reports it.
type HistoryEntry struct {
	// ID is the image that is exactly this point of the history, or "" when there is none in
	// the store (podman prints "<missing>").
	ID string
	// Created is when the step ran (nil when the config does not say).
	Created *time.Time
	// CreatedBy is the command of the step.
	CreatedBy string
	// Size is the uncompressed size of the layer the step created; 0 for a step that created
	// none.
	Size int64
	// Comment is the step's comment.
	Comment string
	// Tags are the names of the image in ID.
	Tags []string
	// EmptyLayer reports that the step created no layer.
	EmptyLayer bool
}

// History returns the steps of the image's config history, newest first. A step's ID is the
// image whose history is exactly the history up to that step and whose layers are the
// layers created up to it (the lowest ID when several are), so the answer depends only on
// the images that are such points, never on unrelated ones; the newest step is the image
// itself. Sizes come from the layers: each non-empty step gets the size of the next layer of
// the image. When the config lists more non-empty steps than the image has layers, the extra
// steps get size 0 and no ID; the call never panics on mismatched counts.
func (i *Image) History(ctx context.Context) ([]HistoryEntry, error) {
	g, err := i.snapshotGraph()
	if err != nil {
		return nil, err
	}
	img := g.image(i)
	cfg, err := img.Config(ctx)
	if err != nil {
		return nil, err
	}
	g.prefetchHistory(ctx, img.TopLayer(), len(cfg.History) > 0 && cfg.History[0].EmptyLayer)
	chain := g.layerChain(img.TopLayer())
	entries := make([]HistoryEntry, len(cfg.History))
	layers := 0 // layers created by the steps so far
	key := ""   // historyKey of the steps so far
	for k, h := range cfg.History {
		key = historyKeyStep(key, h)
		e := HistoryEntry{Created: h.Created, CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if !h.EmptyLayer {
			layers++
			if layers <= len(chain) {
				e.Size = g.layerSize[chain[layers-1]]
			}
		}
		if layers <= len(chain) {
			top := ""
			if layers > 0 {
				top = chain[layers-1]
			}
			at, err := g.imageAt(ctx, top, key)
			if err != nil {
				return nil, err
			}
			if at != nil {
				e.ID, e.Tags = at.ID(), at.RepoTags()
			}
		}
		entries[len(cfg.History)-1-k] = e
	}
	if len(entries) > 0 {
		entries[0].ID, entries[0].Tags = img.ID(), img.RepoTags()
	}
	return entries, nil
}

// imageAt returns the image whose top layer is top ("" for none) and whose history has the
// historyKey key, the one with the lowest ID when several are, or nil.
func (g *graph) imageAt(ctx context.Context, top, key string) (*Image, error) {
	found, err := g.withHistory(ctx, top, key)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	best := found[0]
	for _, f := range found[1:] {
		if f.ID() < best.ID() {
			best = f
		}
	}
	return best, nil
}
