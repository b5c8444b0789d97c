"""The one HTTP exchange the forged-request benchmarks make: a request on a connection of its own
(it asks for `Connection: close`), read to the end; returns the answer's status code."""
import socket


def exchange(port, request):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/1.1 ") else "none"
