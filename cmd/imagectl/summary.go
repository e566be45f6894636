package main

import (
	"context"
	"time"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image"
)

// imageSummary is one image as `images --format json` prints it, in podman's JSON shape and
// key order (keys podman omits when empty are omitted too). Unlike podman 4.3, which prints
// "RepoTags": null, RepoTags holds the image's tagged names. The Go field names are podman's too, since templates use them.
type imageSummary struct {
	ID string `json:"Id"`
	// ParentId keeps podman's spelling: templates say {{.ParentId}}.
	ParentId    string            `json:"ParentId"`
	RepoTags    []string          `json:"RepoTags"`
	RepoDigests []string          `json:"RepoDigests"`
	Size        int64             `json:"Size"`
	SharedSize  int64             `json:"SharedSize"`
	VirtualSize int64             `json:"VirtualSize"`
	Labels      map[string]string `json:"Labels"`
	Containers  int               `json:"Containers"`
	ReadOnly    bool              `json:"ReadOnly,omitempty"`
	// Dangling is set for an image without names that no other image is built on.
	Dangling bool     `json:"Dangling,omitempty"`
	Names    []string `json:"Names,omitempty"`
	Digest   string   `json:"Digest,omitempty"`
	// History is the image's names history, most recent first.
	History []string `json:"History,omitempty"`
	// Created is the creation time in Unix seconds.
	Created int64 `json:"Created"`
	// CreatedAt is Created in RFC 3339, UTC.
	CreatedAt string `json:"CreatedAt"`
}

// listSummaries lists the store once and summarizes the images that pass filters, newest
// first; intermediate images (no names, other images built on them) only when all is set,
// as podman hides them.
func listSummaries(ctx context.Context, rt *image.Runtime, filters []string, all bool) ([]*imageSummary, error) {
	if !all {
		filters = append(append([]string(nil), filters...), "intermediate=false")
	}
	images, err := rt.ListImages(ctx, &image.ListOptions{Filters: filters})
	if err != nil {
		return nil, err
	}
	inUse, err := containerCounts(rt)
	if err != nil {
		return nil, err
	}
	out := make([]*imageSummary, 0, len(images))
	for _, img := range images {
		s, err := summarize(ctx, img)
		if err != nil {
			return nil, err
		}
		s.Containers = inUse[s.ID]
		out = append(out, s)
	}
	return out, nil
}

// containerCounts returns how many containers use each image, from one listing.
func containerCounts(rt *image.Runtime) (map[string]int, error) {
	containers, err := rt.Store().Containers()
	if err != nil {
		return nil, errors.Wrap(err, "listing containers")
	}
	counts := make(map[string]int, len(containers))
	for _, c := range containers {
		counts[c.ImageID]++
	}
	return counts, nil
}

// summarize reads what `images` prints about one image.
func summarize(ctx context.Context, img *image.Image) (*imageSummary, error) {
	size, err := img.Size()
	if err != nil {
		return nil, err
	}
	labels, err := img.Labels(ctx)
	if err != nil {
		return nil, err
	}
	repoDigests, err := img.RepoDigests()
	if err != nil {
		return nil, err
	}
	parent, err := img.Parent(ctx)
	if err != nil {
		return nil, err
	}
	dangling, err := img.IsDangling(ctx)
	if err != nil {
		return nil, err
	}
	created := img.Created().Unix()
	s := &imageSummary{
		ID:          img.ID(),
		RepoTags:    img.RepoTags(),
		RepoDigests: repoDigests,
		Size:        size,
		VirtualSize: size,
		Labels:      labels,
		ReadOnly:    img.IsReadOnly(),
		Dangling:    dangling,
		Names:       img.Names(),
		Digest:      img.Digest().String(),
		History:     img.NamesHistory(),
		Created:     created,
		CreatedAt:   time.Unix(created, 0).UTC().Format(time.RFC3339Nano),
	}
	if parent != nil {
		s.ParentId = parent.ID()
	}
	return s, nil
}
