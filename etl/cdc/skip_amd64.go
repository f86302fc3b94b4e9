package cdc

import "golang.org/x/sys/cpu"

// blockMasks is in skip_amd64.s.
//
//go:noescape
func blockMasks(p *byte) (quote, backslash, open, close, ctl uint64)

var haveBlockMasks = cpu.X86.HasAVX2
