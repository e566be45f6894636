package image

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/seed-1e5c3c91/image/internal/testregistry"
	"go.podman.io/image/v5/manifest"
)

// realImages are the images of testdata/ and the archives that hold them all.
var (
	realImages   = []string{"busybox", "tiny", "tiny-whiteout", "chain-base", "chain-mid", "chain-top", "layers20", "bud-app"}
	realArchives = []string{"chain.multi.docker.tar", "tiny.docker.tar", "tiny-whiteout.docker.tar", "layers20.docker.tar", "bud-app.docker.tar"}
)

// mustPush pushes img to dest and fails the test on error.
func mustPush(t *testing.T, img *Image, dest string, opts *PushOptions) digest.Digest {
	t.Helper()
	d, err := img.Push(context.Background(), dest, opts)
	if err != nil {
		t.Fatalf("pushing %s to %s: %v", img.ID(), dest, err)
	}
	return d
}

// registryManifest fetches the manifest repo:ref from reg as a client accepting OCI and
// Docker manifests would, and returns it with the digest the registry reports for it.
func registryManifest(t *testing.T, reg *testregistry.Registry, repo, ref string) (manifest.OCI1, digest.Digest, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, reg.URL()+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", imgspecv1.MediaTypeImageManifest+", "+manifest.DockerV2Schema2MediaType)
	res, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s:%s: %d %v", repo, ref, res.StatusCode, err)
	}
	var m manifest.OCI1 // a Docker schema2 manifest decodes into the same fields
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m, digest.Digest(res.Header.Get("Docker-Content-Digest")), res.Header.Get("Content-Type")
}

// recordedRegistryManifest is the manifest skopeo read from a registry for an image of
// testdata/.
func recordedRegistryManifest(t *testing.T, stem string) manifest.OCI1 {
	t.Helper()
	var m manifest.OCI1
	readJSON(t, testdataPath(stem+".registry.manifest.json"), &m)
	return m
}

// storedDiffIDs returns the uncompressed digests of img's layers, bottom first, as the store
// records them.
func storedDiffIDs(t *testing.T, rt *Runtime, img *Image) []string {
	t.Helper()
	var ids []string
	for id := img.TopLayer(); id != ""; {
		l, err := rt.store.Layer(id)
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{l.UncompressedDigest.String()}, ids...)
		id = l.Parent
	}
	return ids
}

// TestPushRoundTrip pushes every real image, then pulls each back into a second store: the
// registry holds the config skopeo recorded for the same images, and the
// pulled images have the recorded IDs and diff IDs.
func TestPushRoundTrip(t *testing.T) {
	reg := startRegistry(t, nil)
	rt, rec := newPullRuntime(t, reg.Host)
	mustLoad(t, rt, realArchives...)
	rec.take()
	back, _ := newPullRuntime(t, reg.Host)
	for _, stem := range realImages {
		t.Run(stem, func(t *testing.T) {
			img := mustLookup(t, rt, "localhost/"+stem+":latest")
			repo := "peers/" + stem
			d := mustPush(t, img, reg.Host+"/"+repo+":latest", nil)
			got, have, _ := registryManifest(t, reg, repo, "latest")
			want := recordedRegistryManifest(t, stem)
			if d != have {
				t.Errorf("returned digest %s, registry's %s", d, have)
			}
			if got.Config.Digest != want.Config.Digest {
				t.Errorf("config %s, skopeo recorded %s", got.Config.Digest, want.Config.Digest)
			}
			// The gzip bytes of a layer are not compared: busybox's layer (over 1 MiB)
			// compresses differently with the pgzip of skopeo 1.9 and with ours.
			if len(got.Layers) != len(want.Layers) {
				t.Errorf("%d layers, skopeo recorded %d", len(got.Layers), len(want.Layers))
			}
			if ev := rec.take(); len(ev) != 1 || ev[0] != (Event{Type: EventPush, ID: img.ID(), Name: reg.Host + "/" + repo + ":latest"}) {
				t.Errorf("events %+v", ev)
			}
			pulled := pullOne(t, back, reg.Host+"/"+repo+":latest", PullAlways, nil)
			if "sha256:"+pulled.ID() != want.Config.Digest.String() {
				t.Errorf("pulled back as %s, want %s", pulled.ID(), want.Config.Digest)
			}
			if ids, want := storedDiffIDs(t, back, pulled), readFacts(t, stem).DiffIDs; strings.Join(ids, " ") != strings.Join(want, " ") {
				t.Errorf("pulled back diff IDs %v, want %v", ids, want)
			}
		})
	}
}
