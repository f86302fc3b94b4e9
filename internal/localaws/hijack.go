package localaws

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

type bufioReadWriter = bufio.ReadWriter

func hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
	if hj, ok := w.(http.Hijacker); ok {
		return hj.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}
