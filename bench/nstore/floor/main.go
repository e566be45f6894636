// floor is the metadata floor of the benchmarks: it opens a vfs store made by nstore (R/root,
// R/run), lists its images and layers through c/storage, and prints their counts. A command
// that answers a question about the whole store cannot take less.
//
//	floor R
package main

import (
	"fmt"
	"os"

	"go.podman.io/storage"
	"go.podman.io/storage/pkg/reexec"
)

func main() {
	if reexec.Init() {
		return
	}
	root := os.Args[1]
	store, err := storage.GetStore(storage.StoreOptions{GraphRoot: root + "/root", RunRoot: root + "/run", GraphDriverName: "vfs"})
	if err != nil {
		panic(err)
	}
	imgs, err := store.Images()
	if err != nil {
		panic(err)
	}
	layers, err := store.Layers()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(imgs), len(layers))
	store.Shutdown(false)
}
