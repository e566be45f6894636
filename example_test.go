package image_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	image "github.com/seed-1e5c3c91/image"
	"github.com/seed-1e5c3c91/image/internal/testregistry"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// exampleRuntime opens a throwaway vfs store with a permissive signature policy, as the demo
// does, in a new temp dir, and loads the archives into it. done shuts the store down and
// removes the dir; on error, exampleRuntime has done that itself.
func exampleRuntime(archives ...string) (rt *image.Runtime, dir string, done func(), err error) {
	dir, err = os.MkdirTemp("", "image-example-")
	if err != nil {
		return nil, "", nil, err
	}
	done = func() {
		if rt != nil {
			_ = rt.Shutdown(true)
		}
		_ = os.RemoveAll(dir)
	}
	if rt, err = openExampleRuntime(dir); err == nil {
		for _, a := range archives {
			if _, err = rt.Load(context.Background(), a, nil); err != nil {
				break
			}
		}
	}
	if err != nil {
		done()
		return nil, "", nil, err
	}
	return rt, dir, done, nil
}

// openExampleRuntime writes a permissive policy and an empty registries.conf to dir and
// opens a vfs store there.
func openExampleRuntime(dir string) (*image.Runtime, error) {
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644); err != nil {
		return nil, err
	}
	registries := filepath.Join(dir, "registries.conf") // empty: no search registries, no aliases
	if err := os.WriteFile(registries, nil, 0o644); err != nil {
		return nil, err
	}
	return image.NewRuntimeFromStoreOptions(storage.StoreOptions{
		GraphRoot:       filepath.Join(dir, "root"),
		RunRoot:         filepath.Join(dir, "run"),
		GraphDriverName: "vfs",
	}, &image.RuntimeOptions{SystemContext: &types.SystemContext{
		SignaturePolicyPath:      policy,
		SystemRegistriesConfPath: registries,
	}})
}

// Load an archive, look an image up by its short name, tag it and inspect it.
func Example() {
	rt, _, done, err := exampleRuntime()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
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
	src, dir, done, err := exampleRuntime("testdata/chain.multi.docker.tar")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	archive := filepath.Join(dir, "two.oci.tar")
	err = src.Save(context.Background(), []string{"chain-base", "chain-top:v1"}, archive, &image.SaveOptions{Format: image.OCIArchive})
	if err != nil {
		fmt.Println(err)
		return
	}

	dst, _, done2, err := exampleRuntime()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done2()
	res, err := dst.Load(context.Background(), archive, nil)
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

// Push an image to a registry (here one started on loopback for the example) and pull it
// back.
func ExampleImage_Push() {
	reg, err := testregistry.Start(nil) // plain HTTP on 127.0.0.1
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	rt, _, done, err := exampleRuntime("testdata/busybox.docker.tar")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	img, _, err := rt.LookupImage("busybox", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	plainHTTP := image.RegistryOptions{InsecureSkipTLSVerify: types.OptionalBoolTrue}
	name := reg.Host + "/lib/busybox:1"
	ctx := context.Background()
	if _, err := img.Push(ctx, name, &image.PushOptions{RegistryOptions: plainHTTP}); err != nil {
		fmt.Println(err)
		return
	}
	// Pulling it back gives the same image, now also named after the registry.
	images, err := rt.Pull(ctx, name, image.PullAlways, &image.PullOptions{RegistryOptions: plainHTTP})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pulled back", images[0].ID()[:12], len(images[0].Names()), "names")
	// Output:
	// pulled back 63af6f693ec3 2 names
}
