package awsx

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/smithy-go/logging"
)

// slogLogger hands the SDK's log lines to slog, so they obey --log-level and
// come out as JSON lines with --output json instead of raw text on stderr.
type slogLogger struct{ log *slog.Logger }

// Logf implements logging.Logger.
func (l slogLogger) Logf(c logging.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
		// S3 says this of every object an S3-compatible server returns
		// without a checksum the SDK can validate; nothing for a user to do.
		if strings.Contains(msg, "no supported checksum") {
			level = slog.LevelDebug
		}
	}
	l.log.Log(context.Background(), level, msg, "source", "aws-sdk")
}
