// Command hsp is a Go implementation of the Hyperspace daemon and its CLI.
//
// Every subcommand lives in package commands; this file only hands over to it.
package main

import (
	"os"

	"github.com/hspd/hsp/commands"
)

func main() {
	os.Exit(commands.Main(os.Args, os.Stdout, os.Stderr))
}
