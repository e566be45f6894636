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

// summaryDepth says what listSummaries reads of each image.
type summaryDepth int

const (
	// summaryRecord fills what the default table and -q print (names, size, dates), from the
	// store's record and the listing's snapshot, without reading any config.
	summaryRecord summaryDepth = iota
	// summaryFull fills every field, reading each config for Labels and ParentId (--format
	// json, templates).
	summaryFull
)

// listSummaries lists the store once and summarizes the images that pass filters, newest
// first; intermediate images (no names, other images built on them) only when all is set,
// as podman hides them. With summaryRecord, Labels and ParentId are left empty.
func listSummaries(ctx context.Context, rt *image.Runtime, filters []string, all bool, depth summaryDepth) ([]*imageSummary, error) {
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
		s, err := summarize(ctx, img, depth)
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

// summarize reads what `images` prints about one image. With summaryRecord it fills what the
// default table needs (names, size, dates) and leaves RepoTags, RepoDigests, History, Labels
// and ParentId empty: the names are parsed once, for the table's rows, and no config is read.
func summarize(ctx context.Context, img *image.Image, depth summaryDepth) (*imageSummary, error) {
	size, err := img.Size()
	if err != nil {
		return nil, err
	}
	created := img.Created().Unix()
	s := &imageSummary{
		ID:          img.ID(),
		Size:        size,
		VirtualSize: size,
		ReadOnly:    img.IsReadOnly(),
		Names:       img.Names(),
		Digest:      img.Digest().String(),
		Created:     created,
		CreatedAt:   time.Unix(created, 0).UTC().Format(time.RFC3339Nano),
	}
	if depth == summaryFull {
		if err := summarizeFull(ctx, img, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// summarizeFull fills the fields the default table does not print: RepoTags, RepoDigests,
// History, Dangling and the ones that need the image's config, Labels and ParentId.
func summarizeFull(ctx context.Context, img *image.Image, s *imageSummary) error {
	repoDigests, err := img.RepoDigests()
	if err != nil {
		return err
	}
	s.RepoTags, s.RepoDigests, s.History = img.RepoTags(), repoDigests, img.NamesHistory()
	labels, err := img.Labels(ctx)
	if err != nil {
		return err
	}
	parent, err := img.Parent(ctx)
	if err != nil {
		return err
	}
	dangling, err := img.IsDangling(ctx)
	if err != nil {
		return err
	}
	s.Labels, s.Dangling = labels, dangling
	if parent != nil {
		s.ParentId = parent.ID()
	}
	return nil
}
