package image

import (
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
	// noLayers lists the images without any layer.
	noLayers []*Image
	// layerParent maps a layer ID to its parent layer's ID ("" for a base layer).
	layerParent map[string]string
}

// newGraph lists the store once and indexes it.
func (r *Runtime) newGraph() (*graph, error) {
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
		runtime:     r,
		images:      make([]*Image, 0, len(storageImages)),
		byID:        make(map[string]*Image, len(storageImages)),
		byTopLayer:  make(map[string][]*Image, len(storageImages)),
		layerParent: make(map[string]string, len(layers)),
	}
	for i := range storageImages {
		img := r.newImage(&storageImages[i])
		img.graph = g
		g.images = append(g.images, img)
		g.byID[img.ID()] = img
		if top := img.TopLayer(); top != "" {
			g.byTopLayer[top] = append(g.byTopLayer[top], img)
		} else {
			g.noLayers = append(g.noLayers, img)
		}
	}
	for i := range layers {
		g.layerParent[layers[i].ID] = layers[i].Parent
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
