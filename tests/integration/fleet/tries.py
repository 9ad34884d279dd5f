# One governed connect of the fleet tests' agents (agent.py, paced.py):
# to 127.0.0.1:port, closed at once. Returns "ok", "refused" (the shim's
# PermissionError, EPERM) or "other" (any other failure, said on stderr).
import socket, sys


def attempt(port):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        return "ok"
    except PermissionError:
        return "refused"
    except OSError as e:
        print(f"other: {e}", file=sys.stderr)
        return "other"
    finally:
        s.close()
