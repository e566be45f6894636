package image

import (
	"context"
	"slices"
	"strings"
	"time"
)

// DiskUsage is how much space the store's images take, from one snapshot.
type DiskUsage struct {
	// Images has one entry per image, newest first.
	Images []ImageUsage
	// Size is what all images take together: every layer an image uses counted once, plus
	// every image's metadata (config, manifests, signatures).
	Size int64
	// Reclaimable is what removing every image no container uses would free: the layers
	// only such images use, each counted once, plus their metadata.
	Reclaimable int64
	// Active counts the images that containers use.
	Active int
}

// ImageUsage is the space one image takes.
type ImageUsage struct {
	// ID is the image's full ID.
	ID string
	// RepoTags are the image's tagged names.
	RepoTags []string
	// Created is the image's creation time.
	Created time.Time
	// Size is the image's size: its layers and its metadata (as Image.Size).
	Size int64
	// SharedSize is the part of Size in layers that other images use too.
	SharedSize int64
	// UniqueSize is Size less SharedSize: what removing the image alone would free.
	UniqueSize int64
	// Containers counts the containers that use the image.
	Containers int
}

// layerUse is what the disk usage knows of one layer.
type layerUse struct {
	users, activeUsers int   // images whose layers include this one (active: used by containers)
	below, sharedBelow int64 // sizes of this layer and those under it (shared: used by 2+ images)
	done               bool
}

// DiskUsage reports the space the images take, from one listing of images, layers and
// containers: O(images + layers). Shared and unique parts are exact per layer (a layer is
// shared when two or more images use it), not podman's estimate from the parent image.
func (r *Runtime) DiskUsage(ctx context.Context) (*DiskUsage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, err := r.newGraph()
	if err != nil {
		return nil, err
	}
	counts, err := g.containerCounts()
	if err != nil {
		return nil, err
	}
	use := g.layerUses(counts)
	du := &DiskUsage{}
	for _, img := range g.images {
		meta := img.metadataSize()
		u := ImageUsage{ID: img.ID(), RepoTags: img.RepoTags(), Created: img.Created(), Containers: counts[img.ID()]}
		if l := use[img.TopLayer()]; l != nil {
			u.Size, u.SharedSize = l.below, l.sharedBelow
		}
		u.Size += meta
		u.UniqueSize = u.Size - u.SharedSize
		du.Images = append(du.Images, u)
		du.Size += meta
		if u.Containers > 0 {
			du.Active++
		} else {
			du.Reclaimable += meta
		}
	}
	for id, l := range use {
		if l.users > 0 {
			du.Size += g.layerSize[id]
			if l.activeUsers == 0 {
				du.Reclaimable += g.layerSize[id]
			}
		}
	}
	sortUsage(du.Images)
	return du, nil
}

// layerUses counts, for every layer, the images that use it (their top layer is it or is
// built on it), and sums the sizes along each chain, in O(layers + images).
func (g *graph) layerUses(containers map[string]int) map[string]*layerUse {
	use := make(map[string]*layerUse, len(g.layerParent))
	for id := range g.layerParent {
		use[id] = &layerUse{}
	}
	// Users: each image counts on its top layer, then the counts flow down to the base,
	// children before parents (a layer's count is final once all its children's are).
	pending := make(map[string]int, len(g.layerParent))
	for id := range g.layerParent {
		pending[id] = len(g.layerChildren[id])
	}
	for _, img := range g.images {
		if l := use[img.TopLayer()]; l != nil {
			l.users++
			if containers[img.ID()] > 0 {
				l.activeUsers++
			}
		}
	}
	var ready []string
	for id, n := range pending {
		if n == 0 {
			ready = append(ready, id)
		}
	}
	for len(ready) > 0 {
		id := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		if p := g.layerParent[id]; p != "" && use[p] != nil {
			use[p].users += use[id].users
			use[p].activeUsers += use[id].activeUsers
			if pending[p]--; pending[p] == 0 {
				ready = append(ready, p)
			}
		}
	}
	// Sizes below each layer, parents before children.
	for id := range use {
		g.sumBelow(id, use)
	}
	return use
}

// sumBelow fills below and sharedBelow of id and of the layers under it, iteratively.
func (g *graph) sumBelow(id string, use map[string]*layerUse) {
	var path []string
	for cur := id; cur != "" && use[cur] != nil && !use[cur].done; cur = g.layerParent[cur] {
		path = append(path, cur)
	}
	for k := len(path) - 1; k >= 0; k-- {
		l := use[path[k]]
		if p := use[g.layerParent[path[k]]]; p != nil {
			l.below, l.sharedBelow = p.below, p.sharedBelow
		}
		size := g.layerSize[path[k]]
		l.below += size
		if l.users > 1 {
			l.sharedBelow += size
		}
		l.done = true
	}
}

// metadataSize is the size of what the store keeps for the image besides its layers.
func (i *Image) metadataSize() int64 {
	var n int64
	for _, size := range i.snapshot().BigDataSizes {
		n += size
	}
	return n
}

// sortUsage orders u newest first, ties by ID: O(n log n) (the listing comes oldest first,
// the worst case of an insertion sort).
func sortUsage(u []ImageUsage) {
	slices.SortFunc(u, func(a, b ImageUsage) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
