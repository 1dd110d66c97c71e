package commands

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func asExitCoder(err error, target *cli.ExitCoder) bool {
	return errors.As(err, target)
}
