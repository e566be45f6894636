package image_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	image "github.com/seed-1e5c3c91/image"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// exampleRuntime opens a throwaway vfs store with a permissive signature policy, as the demo
// does. The caller removes dir.
func exampleRuntime() (rt *image.Runtime, dir string, err error) {
	dir, err = os.MkdirTemp("", "image-example-")
	if err != nil {
		return nil, "", err
	}
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644); err != nil {
		return nil, dir, err
	}
	registries := filepath.Join(dir, "registries.conf") // empty: no search registries, no aliases
	if err := os.WriteFile(registries, nil, 0o644); err != nil {
		return nil, dir, err
	}
	rt, err = image.NewRuntimeFromStoreOptions(storage.StoreOptions{
		GraphRoot:       filepath.Join(dir, "root"),
		RunRoot:         filepath.Join(dir, "run"),
		GraphDriverName: "vfs",
	}, &image.RuntimeOptions{SystemContext: &types.SystemContext{
		SignaturePolicyPath:      policy,
		SystemRegistriesConfPath: registries,
	}})
	return rt, dir, err
}

// Load an archive, look an image up by its short name, tag it and inspect it.
func Example() {
	rt, dir, err := exampleRuntime()
	defer os.RemoveAll(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Shutdown(true)
	ctx := context.Background()

	res, err := rt.Load(ctx, "testdata/chain.multi.docker.tar", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, img := range res.Images {
		fmt.Println("loaded", img.ID[:12], img.Names)
	}

	img, resolved, err := rt.LookupImage("chain-mid", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("chain-mid is", resolved, img.ID()[:12])

	if _, err := img.Tag("chain-mid:stable"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("names:", img.Names())

	data, err := img.Inspect(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("parent:", data.Parent[:12], "layers:", len(data.RootFS.Layers), "size:", data.Size)
	// Output:
	// loaded 63af6f693ec3 [localhost/busybox:latest]
	// loaded ae92a43b74b7 [localhost/chain-base:latest]
	// loaded 33a1ed6a78c1 [localhost/chain-mid:latest]
	// loaded 42c8fcb74521 [localhost/chain-top:latest localhost/chain-top:v1]
	// chain-mid is localhost/chain-mid:latest 33a1ed6a78c1
	// names: [localhost/chain-mid:stable localhost/chain-mid:latest]
	// parent: ae92a43b74b7 layers: 3 size: 2206142
}

// Save two images of a store into one oci-archive, each under the name it was asked for by,
// and load that archive into another store.
func ExampleRuntime_Save() {
	src, dir, err := exampleRuntime()
	defer os.RemoveAll(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Shutdown(true)
	ctx := context.Background()
	if _, err := src.Load(ctx, "testdata/chain.multi.docker.tar", nil); err != nil {
		fmt.Println(err)
		return
	}
	archive := filepath.Join(dir, "two.oci.tar")
	err = src.Save(ctx, []string{"chain-base", "chain-top:v1"}, archive, &image.SaveOptions{Format: image.OCIArchive})
	if err != nil {
		fmt.Println(err)
		return
	}

	dst, dir2, err := exampleRuntime()
	defer os.RemoveAll(dir2)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dst.Shutdown(true)
	res, err := dst.Load(ctx, archive, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, img := range res.Images {
		fmt.Println("loaded", img.ID[:12], img.Names)
	}
	// Output:
	// loaded ae92a43b74b7 [localhost/chain-base:latest]
	// loaded 42c8fcb74521 [localhost/chain-top:v1]
}
