package logpattern_test

import (
	"fmt"

	"github.com/opsctl/opsctl/internal/logpattern"
)

func ExampleParse() {
	p, err := logpattern.Parse(`ERROR -"health check"`)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Kind(), p.Match("[ERROR] Unhandled Exception"), p.Match("ERROR in health check"))

	_, err = logpattern.Parse(`{ $.level = "ERROR }`)
	fmt.Println(err)
	// Output:
	// text true false
	// invalid filter pattern at column 13: unterminated quoted phrase (a '"' without its closing '"')
}

func ExamplePattern_ExtractedValues() {
	p := logpattern.MustParse(`[ip, user, ..., status = 5*, bytes > 1000]`)
	v, ok := p.ExtractedValues(`10.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET / HTTP/1.1" 503 2048`)
	fmt.Println(ok, v["$status"], v["$bytes"], v["$3"])
	f, _ := p.MetricValue("$bytes", `10.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET / HTTP/1.1" 503 2048`)
	fmt.Println(f)
	// Output:
	// true 503 2048 frank
	// 2048
}
