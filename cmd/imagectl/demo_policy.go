package main

// demoPolicy accepts every image: the demo loads local archives only, and the tests use it
// for their throwaway stores.
const demoPolicy = `{"default":[{"type":"insecureAcceptAnything"}]}` + "\n"
