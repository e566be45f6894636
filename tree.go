package image

import (
	"context"
	"fmt"
	"strings"

	units "github.com/docker/go-units"
)

// TreeOptions tune Tree. Nil means the image's own layers.
type TreeOptions struct {
	// WhatRequires shows every layer built on the image's top layer instead (podman's
	// `image tree --whatrequires`).
	WhatRequires bool
}

// Tree is an image's layer tree, as `podman image tree` prints it: String renders it.
type Tree struct {
	// ID is the image's full ID.
	ID string
	// Tags are the image's tagged names.
	Tags []string
	// Size is the image's size (Image.Size).
	Size int64
	// HasLayers is false for an image without layers.
	HasLayers bool
	// Layers are the roots of the tree: the image's bottom layer, or with WhatRequires its
	// top layer.
	Layers []*TreeLayer
	// branch is set when the root layer has siblings: podman then opens a branch for it.
	branch bool
}

// TreeLayer is one layer of a Tree, with the layers shown below it.
type TreeLayer struct {
	// ID is the layer's ID.
	ID string
	// Size is the layer's uncompressed size.
	Size int64
	// TopLayerOf are the tagged names of the images whose top layer this is, in the store's
	// order.
	TopLayerOf []string
	// Children are the layers built directly on this one, in the store's order (without
	// WhatRequires: the next layer of the image, if any).
	Children []*TreeLayer
}

// Tree returns the layer tree of img from one snapshot of the store: by default the image's
// layers, bottom first; with WhatRequires, every layer that is built on the image's top
// layer, and so every image that requires it.
func (r *Runtime) Tree(ctx context.Context, img *Image, opts *TreeOptions) (*Tree, error) {
	var o TreeOptions
	if opts != nil {
		o = *opts
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, err := r.newGraph()
	if err != nil {
		return nil, err
	}
	size, err := img.Size()
	if err != nil {
		return nil, err
	}
	t := &Tree{ID: img.ID(), Tags: img.RepoTags(), Size: size, HasLayers: img.TopLayer() != ""}
	if !t.HasLayers {
		return t, nil
	}
	if o.WhatRequires {
		t.Layers = []*TreeLayer{g.treeBelow(img.TopLayer())}
		if below := g.layerParent[img.TopLayer()]; below != "" {
			t.branch = len(g.layerChildren[below]) > 1
		}
		return t, nil
	}
	var below *TreeLayer
	chain := g.layerChain(img.TopLayer())
	for k := len(chain) - 1; k >= 0; k-- {
		node := g.treeLayer(chain[k])
		if below != nil {
			node.Children = []*TreeLayer{below}
		}
		below = node
	}
	if below != nil {
		t.Layers = []*TreeLayer{below}
	}
	return t, nil
}

// treeLayer returns the node of one layer, without children.
func (g *graph) treeLayer(id string) *TreeLayer {
	node := &TreeLayer{ID: id, Size: g.layerSize[id]}
	seen := map[string]bool{}
	for _, img := range g.byTopLayer[id] {
		for _, tag := range img.RepoTags() {
			if !seen[tag] {
				seen[tag] = true
				node.TopLayerOf = append(node.TopLayerOf, tag)
			}
		}
	}
	return node
}

// treeBelow returns the node of a layer with every layer built on it. The walk is iterative,
// so a deep chain cannot exhaust the stack.
func (g *graph) treeBelow(id string) *TreeLayer {
	root := g.treeLayer(id)
	stack := []*TreeLayer{root}
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, child := range g.layerChildren[node.ID] {
			c := g.treeLayer(child)
			node.Children = append(node.Children, c)
			stack = append(stack, c)
		}
	}
	return root
}

// String renders the tree as `podman image tree` prints it (podman 4.3): a header, then the
// layers; a layer with siblings opens a branch, a layer without continues the line of its
// parent.
func (t *Tree) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Image ID: %s\n", t.ID[:min(12, len(t.ID))])
	fmt.Fprintf(&sb, "Tags:     %s\n", fmt.Sprint(t.Tags))
	fmt.Fprintf(&sb, "Size:     %v\n", units.HumanSizeWithPrecision(float64(t.Size), 4))
	if t.HasLayers {
		sb.WriteString("Image Layers\n")
	} else {
		sb.WriteString("No Image Layers\n")
	}
	root := &printNode{}
	for _, l := range t.Layers {
		addLayer(root, l, !t.branch)
	}
	root.print(&sb, "")
	return sb.String()
}

// printNode is a line of the rendered tree with the lines nested under it.
type printNode struct {
	text  string
	items []*printNode
}

// addLayer adds l to parent the way podman's tree does: linearly (as a next item of parent)
// when l has no siblings, else as a new branch; then l's children go into l's branch or
// parent's line.
func addLayer(parent *printNode, l *TreeLayer, alone bool) {
	tags := ""
	if len(l.TopLayerOf) > 0 {
		tags = fmt.Sprintf(" Top Layer of: %s", fmt.Sprint(l.TopLayerOf))
	}
	item := &printNode{text: fmt.Sprintf("ID: %s Size: %7v%s", l.ID[:min(12, len(l.ID))],
		units.HumanSizeWithPrecision(float64(l.Size), 4), tags)}
	parent.items = append(parent.items, item)
	next := parent
	if !alone {
		next = item
	}
	for _, c := range l.Children {
		addLayer(next, c, len(l.Children) <= 1)
	}
}

func (n *printNode) print(sb *strings.Builder, prefix string) {
	for k, it := range n.items {
		connector, indent := "├── ", "│   "
		if k == len(n.items)-1 {
			connector, indent = "└── ", "    "
		}
		sb.WriteString(prefix + connector + it.text + "\n")
		it.print(sb, prefix+indent)
	}
}
