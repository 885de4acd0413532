// Command etcd runs etcd's own entry point; this wrapper exists only so that the
// module graph resolves from the Go module proxy without etcd's replace directives.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
