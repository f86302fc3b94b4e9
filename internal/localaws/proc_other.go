//go:build !linux

package localaws

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}

func killTree(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}
