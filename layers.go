package image

import (
	"sync"

	"github.com/pkg/errors"
	"go.podman.io/storage"
)

// graph is one snapshot of the store's images and layers, indexed for the questions asked
// about the whole store. It is built once per call (never kept across calls: other processes
// change the store) from one listing of images and one of layers, so its cost is
// O(images + layers).
type graph struct {
	runtime *Runtime
	// images are the store's images, in the store's order.
	images []*Image
	// byID maps an image ID to its Image.
	byID map[string]*Image
	// byTopLayer maps a layer ID to the images whose top layer it is.
	byTopLayer map[string][]*Image
	// noLayers lists the images without any layer (but with a config: not manifest lists).
	noLayers []*Image
	// layerParent maps a layer ID to its parent layer's ID ("" for a base layer).
	layerParent map[string]string
	// layerChildren maps a layer ID to the layers directly on it.
	layerChildren map[string][]string
	// layerSize maps a layer ID to its uncompressed size (-1 when c/storage does not know it).
	layerSize map[string]int64
	// layerNoDigest holds the layers without an uncompressed digest, whose recorded size
	// c/storage does not trust (ImageSize computes theirs from the files).
	layerNoDigest map[string]bool

	mu sync.Mutex // guards historyIndex and parentOf
	// historyIndex maps a top layer ID ("" for images without layers) to the images on it
	// by historyKey; filled per layer on first use.
	historyIndex map[string]map[string][]*Image
	// parentOf memoizes parent: image ID → its parent (nil for none).
	parentOf map[string]*Image

	containersOnce sync.Once
	// containers counts the containers of each image ID; listed on first use.
	containers map[string]int
	// containersErr is the error of that listing.
	containersErr error
}

// newGraph lists the store once and indexes it.
func (r *Runtime) newGraph() (*graph, error) {
	r.counts.graphs.Add(1)
	storageImages, err := r.store.Images()
	if err != nil {
		return nil, errors.Wrap(err, "listing images")
	}
	layers, err := r.store.Layers()
	if err != nil {
		return nil, errors.Wrap(err, "listing layers")
	}
	return r.indexGraph(storageImages, layers), nil
}

func (r *Runtime) indexGraph(storageImages []storage.Image, layers []storage.Layer) *graph {
	g := &graph{
		runtime:       r,
		images:        make([]*Image, 0, len(storageImages)),
		byID:          make(map[string]*Image, len(storageImages)),
		byTopLayer:    make(map[string][]*Image, len(storageImages)),
		layerParent:   make(map[string]string, len(layers)),
		layerChildren: make(map[string][]string, len(layers)),
		layerSize:     make(map[string]int64, len(layers)),
		layerNoDigest: map[string]bool{},
		historyIndex:  map[string]map[string][]*Image{},
		parentOf:      map[string]*Image{},
	}
	for i := range storageImages {
		img := r.newImage(&storageImages[i])
		img.graph = g
		g.images = append(g.images, img)
		g.byID[img.ID()] = img
		switch top := img.TopLayer(); {
		case top != "":
			g.byTopLayer[top] = append(g.byTopLayer[top], img)
		case img.hasConfig():
			g.noLayers = append(g.noLayers, img)
		}
		// An entry without layers or config (a manifest list) is in no image's history: it
		// is nobody's parent or child.
	}
	for i := range layers {
		l := &layers[i]
		g.layerParent[l.ID] = l.Parent
		g.layerSize[l.ID] = l.UncompressedSize
		if l.UncompressedDigest == "" {
			g.layerNoDigest[l.ID] = true
		}
		if l.Parent != "" {
			g.layerChildren[l.Parent] = append(g.layerChildren[l.Parent], l.ID)
		}
	}
	return g
}

// image returns the graph's own Image for img's ID, so that configs read during one call are
// read once, or img itself when the graph does not know it.
func (g *graph) image(img *Image) *Image {
	if gi, ok := g.byID[img.ID()]; ok {
		return gi
	}
	return img
}

// containerCounts returns the number of containers of each image ID, from one listing of the
// store's containers made on first use.
func (g *graph) containerCounts() (map[string]int, error) {
	g.containersOnce.Do(func() {
		containers, err := g.runtime.store.Containers()
		if err != nil {
			g.containersErr = errors.Wrap(err, "listing containers")
			return
		}
		g.containers = make(map[string]int, len(containers))
		for k := range containers {
			g.containers[containers[k].ImageID]++
		}
	})
	return g.containers, g.containersErr
}

// layerChain returns the IDs of the layers of an image whose top layer is top, bottom first.
// A chain that is broken (a parent missing from the snapshot) ends where it breaks.
func (g *graph) layerChain(top string) []string {
	var chain []string
	seen := map[string]bool{}
	for id := top; id != "" && !seen[id]; id = g.layerParent[id] {
		seen[id] = true
		chain = append(chain, id)
		if _, ok := g.layerParent[id]; !ok {
			break
		}
	}
	for a, b := 0, len(chain)-1; a < b; a, b = a+1, b-1 {
		chain[a], chain[b] = chain[b], chain[a]
	}
	return chain
}

// imageSize returns what c/storage's ImageSize says of img, computed from the snapshot: the
// recorded uncompressed sizes of its layers plus the sizes of its big data items (config,
// manifests, signatures). It reports false when the snapshot cannot tell (a layer missing or
// of unknown size, mapped top layers, a big data item without a recorded size): ask the store.
func (g *graph) imageSize(img *storage.Image) (int64, bool) {
	if len(img.MappedTopLayers) > 0 {
		return 0, false
	}
	var size int64
	steps := 0
	for id := img.TopLayer; id != ""; id = g.layerParent[id] {
		if steps++; steps > len(g.layerParent) {
			return 0, false // a cycle: let c/storage say what it makes of it
		}
		n, ok := g.layerSize[id]
		if !ok || n < 0 || g.layerNoDigest[id] {
			return 0, false
		}
		size += n
	}
	for _, name := range img.BigDataNames {
		n, ok := img.BigDataSizes[name]
		if !ok || n < 0 {
			return 0, false
		}
		size += n
	}
	return size, true
}

// layerIDs returns the IDs of every layer in the store now.
func (r *Runtime) layerIDs() (map[string]bool, error) {
	layers, err := r.store.Layers()
	if err != nil {
		return nil, errors.Wrap(err, "listing layers")
	}
	ids := make(map[string]bool, len(layers))
	for i := range layers {
		ids[layers[i].ID] = true
	}
	return ids, nil
}

// removeNewOrphans deletes the layers that are not in before and that no image or container
// uses: what a failed copy left behind (c/image commits layers as it goes and does not take
// them back when the image cannot be created). A layer another process created meanwhile
// and has not yet given an image could be taken too: c/storage offers no way to tell, and
// that process's image creation then fails cleanly.
func (r *Runtime) removeNewOrphans(before map[string]bool) error {
	layers, err := r.store.Layers()
	if err != nil {
		return errors.Wrap(err, "listing layers")
	}
	used, err := r.usedLayers(layers)
	if err != nil {
		return err
	}
	children := map[string]int{}
	for i := range layers {
		children[layers[i].Parent]++
	}
	// Delete leaves first, then their parents as they become leaves.
	for removed := true; removed; {
		removed = false
		for i := range layers {
			id := layers[i].ID
			if before[id] || used[id] || children[id] > 0 {
				continue
			}
			if err := r.store.DeleteLayer(id); err != nil && !errors.Is(err, storage.ErrLayerUnknown) {
				return errors.Wrapf(err, "removing layer %s left by a failed copy", id)
			}
			before[id] = true // handled
			children[layers[i].Parent]--
			removed = true
		}
	}
	return nil
}

// usedLayers returns every layer an image or a container needs: their top layers and all
// layers below them.
func (r *Runtime) usedLayers(layers []storage.Layer) (map[string]bool, error) {
	parent := make(map[string]string, len(layers))
	for i := range layers {
		parent[layers[i].ID] = layers[i].Parent
	}
	images, err := r.store.Images()
	if err != nil {
		return nil, errors.Wrap(err, "listing images")
	}
	containers, err := r.store.Containers()
	if err != nil {
		return nil, errors.Wrap(err, "listing containers")
	}
	var tops []string
	for i := range images {
		tops = append(tops, images[i].TopLayer)
		tops = append(tops, images[i].MappedTopLayers...)
	}
	for i := range containers {
		tops = append(tops, containers[i].LayerID)
	}
	used := map[string]bool{}
	for _, id := range tops {
		for ; id != "" && !used[id]; id = parent[id] {
			used[id] = true
		}
	}
	return used, nil
}
