#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets whose input has a binary
layout (see the comment at the top of each fuzz/fuzz_NAME.c) into
fuzz/corpus/NAME/. The config seeds are copies of tests/config and
config/tools files, the audit_read line seeds real records of `enact run`:
this script leaves those alone. Run from the repository root:
    python3 fuzz/seeds.py
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data.encode('latin-1') if isinstance(data, str) else data)


# match: rule line, candidate line, more rule lines (two per tool).
for name, text in {
    'v4-exact': '127.0.0.1:8080\n127.0.0.1:8080\n',
    'v4-cidr-range': '10.0.0.0/8:8000-8099\n10.1.2.3:8050\n10.1.0.0/16:8050\n',
    'v6-cidr': '[2001:db8::/32]:*\n[2001:db8::1]:443\n[::1]:443\n',
    'v6-mapped': '[::ffff:10.0.0.1]\n10.0.0.1:80\n',
    'bare-v6': '::1\n[::1]:22\n',
    'host-glob': '*.example.org\napi.example.org\napi.example.com:443\n',
    'localhost': 'localhost:6379\n127.0.0.1:6379\n',
    'any-host': '*:25\n192.0.2.1:25\n',
    'unix-glob': 'unix:/run/*.sock\n/run/docker.sock\nunix:@abstract-name\n',
    'exec-kubectl': 'kubectl delete *\nkubectl delete pod x\n',
    'exec-quoted': 'git commit -m "two words"\ngit commit -m x\n',
    'exec-path': '/usr/bin/*\n/usr/bin/rm -rf /\n',
    'glob-classes': '[a-z]*[!0-9]?\\*\nabc*x\n',
    'glob-stars': 'a*b*c*d\naxxbxxcxxd\n',
    'glob-bad-class': 'x[ab\nx[ab\n',
    'index-mix': '10.0.0.1:80\n10.0.0.0/24:80\n*:81\nhost1.example:80-81\n'
                 'unix:/run/s1.sock\n[fd00::1]:80\n10.0.0.1:82\n',
}.items():
    put('match', name, text)

# impact: byte 0 (bit 0: use an [impact] table), then the payload / argv.


def pg_startup():
    params = b'user\0agent\0database\0db\0\0'
    return struct.pack('>II', 8 + len(params), 196608) + params


def pg_query(sql):
    return b'Q' + struct.pack('>I', 4 + len(sql) + 1) + sql + b'\0'


for name, data in {
    'http-delete': b'\0DELETE /v1/items/42 HTTP/1.1\r\nHost: x\r\n\r\n',
    'http-get': b'\0GET /health HTTP/1.0\r\n\r\n',
    'http-patch-table': b'\1PATCH /v1/x HTTP/1.1\r\n\r\n',
    'resp-del': b'\0*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n',
    'resp-set': b'\0*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n',
    'inline-flushall': b'\0FLUSHALL\r\n',
    'inline-set': b'\0SET k v\r\n',
    'pg-startup-drop': b'\0' + struct.pack('>II', 8, 80877103) + pg_startup() +
                       pg_query(b'DROP TABLE users'),
    'pg-select': b'\0' + pg_query(b'/* c */ -- x\n SELECT 1'),
    'mysql-delete': b'\0' + struct.pack('<I', 1 + 22)[:3] + b'\0\x03' + b'DELETE FROM t WHERE 1;',
    'sql-bare': b'\0  (INSERT INTO t VALUES (1))',
    'sql-truncate-table': b'\1TRUNCATE t',
    'argv-rm': b'\0rm\0-rf\0/tmp/x',
    'argv-git-force': b'\0git -C repo push --force origin main',
    'argv-kubectl': b'\0kubectl -n prod delete pod web-1',
    'argv-sudo-env': b'\0sudo -u root env FOO=1 nice -n 5 rm x',
    'argv-sh-c': b'\0sh\0-c\0cd /tmp && rm -rf x; ls | wc -l',
    'argv-mkfs': b'\0mkfs.ext4 /dev/sdz1',
    'argv-terraform': b'\1terraform destroy prod',
}.items():
    put('impact', name, data)

# jsonw: byte 0 buffer size, byte 1 max_out, then the value.
for name, data in {
    'ascii': b'\xff\x00GET /v1/items?q=a&b=c',
    'quotes-controls': b'\x80\x10"\\\n\r\t\x01\x1f\x7f',
    'utf8': b'\xc0\x08caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf',
    'invalid-utf8': b'\x40\x07\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82',
    'nul': b'\x20\x00a\x00b\x00',
    'cut-in-escape': b'\x10\x05ab\x01\x01\x01\x01',
    'long': b'\xf0\x00' + bytes(range(256)) * 2,
}.items():
    put('jsonw', name, data)

# audit_read, event form: flags (shape in 0-4, bit 3: retry_after), a
# 16-bit mask of the strings set, time, pid and retry_after_ms (64-bit big
# endian), 15 NUL-separated strings (argv items separated by 0x1f), then
# would_execute.


def event(shape, present, strs, argv, would=b'', retry=True):
    out = bytes([shape | (8 if retry else 0)]) + struct.pack('<H', present)
    out += struct.pack('>QQQ', 1795000000123456789, 4242, 60000)
    return out + b'\0'.join(strs + [b'\x1f'.join(argv)]) + b'\0' + would


names = [b'demo-agent', b'python3', b'connect', b'api', b'127.0.0.1:8080', b'api.example.com',
         b'deny', b'rate_limited', b'EPERM', b'CLOSED', b'OPEN', b'HIGH', b'rm: destructive',
         b'state file damaged']
put('audit_read', 'event-connect', event(0, 0x01ff | 0x2000, names, [b'x']))
put('audit_read', 'event-exec', event(1, 0x21df, names, [b'rm', b'-rf', b'/tmp/x y']))
put('audit_read', 'event-breaker', event(2, 0x067f, names, [], retry=False))
put('audit_read', 'event-dry-run-connect',
    event(3, 0x187f, names, [], b'DELETE / HTTP/1.1\r\n\r\n\0\xff'))
put('audit_read', 'event-dry-run-exec', event(4, 0x18ff, names, [b'rm', b'-rf', b'/'],
                                              b'rm -rf /\0'))
worst = [b'\x01' * 21 + b'ab'] * 14
worst[4] = worst[5] = b'\x01' * 85 + b'ab'
worst[13] = b'\x01' * 42 + b'abcd'
put('audit_read', 'event-exec-worst-case', event(1, 0xffff, worst, [b'\x02' * 42 + b'abcd'] * 70))

# tls_frame: byte 0 mode (odd: build a well-formed stream), 4 bytes of
# chunking seed, then the stream (or 3 bytes per record: type, minor, length
# code).
client_hello = bytes([22, 3, 1, 0, 8]) + b'\x01\x00\x00\x04\x03\x03\x00\x00'
for name, data in {
    'handshake-appdata': b'\0\x12\x34\x56\x78' + client_hello + bytes([23, 3, 3, 0, 2]) + b'hi',
    'split-header': b'\0\x00\x00\x00\x01' + bytes([21, 3, 3, 0, 2, 2, 40, 20, 3, 3, 0, 1, 1]),
    'not-tls': b'\0\x00\x00\x01\x00GET / HTTP/1.1\r\n\r\n',
    'too-long': b'\0\x00\x00\x00\x07' + bytes([23, 3, 3, 0x48, 0x01]) + b'x' * 20,
    'well-formed': b'\x01\x9a\xbc\xde\xf0' + bytes([2, 1, 20, 0, 3, 1, 3, 4, 251, 1, 2, 250]),
}.items():
    put('tls_frame', name, data)

# shell_words: byte 0 cap, byte 1 max, then the command.
for name, data in {
    'rm': b'\xff\x10rm -rf /tmp/x',
    'blanks': b'\x05\x03  ls -l \t /var\t/tmp  ',
    'assignment': b'\x00\x00FOO=1 ls',
    'tilde': b'\x40\x04ls ~/x',
    'quoted': b'\x40\x04echo "a b"',
    'pipe': b'\x40\x04ls | wc -l',
    'all-plain': b'\x80\x20a_b.c/d-e+f=g:h,i@j%k^l~m',
}.items():
    put('shell_words', name, data)

# binfmt: the content of a file (ELF or not).


def elf(is64, etype, ptypes, phoff=None, phentsize=None):
    ehsize, phsize = (64, 56) if is64 else (52, 32)
    phoff = ehsize if phoff is None else phoff
    phentsize = phsize if phentsize is None else phentsize
    ident = b'\x7fELF' + bytes([2 if is64 else 1, 1, 1]) + bytes(9)
    if is64:
        eh = ident + struct.pack('<HHIQQQIHHHHHH', etype, 62, 1, 0x401000, phoff, 0, 0,
                                 ehsize, phentsize, len(ptypes), 64, 0, 0)
        ph = b''.join(struct.pack('<IIQQQQQQ', t, 5, 0, 0, 0, 0, 0, 8) for t in ptypes)
    else:
        eh = ident + struct.pack('<HHIIIIIHHHHHH', etype, 3, 1, 0x8048000, phoff, 0, 0,
                                 ehsize, phentsize, len(ptypes), 40, 0, 0)
        ph = b''.join(struct.pack('<IIIIIIII', t, 0, 0, 0, 0, 0, 5, 4) for t in ptypes)
    return eh + bytes(max(0, phoff - len(eh))) + ph


PT_LOAD, PT_INTERP, PT_DYNAMIC, PT_PHDR = 1, 3, 2, 6
for name, data in {
    'elf64-dynamic': elf(True, 3, [PT_PHDR, PT_INTERP, PT_LOAD, PT_DYNAMIC]),
    'elf64-static': elf(True, 2, [PT_LOAD, PT_LOAD]),
    'elf64-static-pie': elf(True, 3, [PT_LOAD, PT_DYNAMIC]),
    'elf32-dynamic': elf(False, 2, [PT_PHDR, PT_INTERP, PT_LOAD]),
    'elf64-phdrs-past-end': elf(True, 2, [PT_LOAD])[:100],
    'elf64-core': elf(True, 4, [PT_LOAD]),
    'elf64-wide-phentsize': elf(True, 3, [PT_LOAD, PT_INTERP], phentsize=64) + bytes(64),
    'text': b'not a program\n',
}.items():
    put('binfmt', name, data)

# resp: byte 0 the argument count for the round trip (arguments cut at
# 0xff); the whole input is also a reply and an error text.
for name, data in {
    'admit-reply': b'*7\r\n:0\r\n:0\r\n:0\r\n:1\r\n:1\r\n:1\r\n:2\r\n',
    'hgetall': b'*4\r\n$2\r\nst\r\n$1\r\n1\r\n$5\r\nsince\r\n$-1\r\n',
    'status': b'+OK\r\n',
    'moved': b'MOVED 3999 127.0.0.1:6381',
    'ask-v6': b'ASK 12 ::1:7000',
    'bulk': b'$5\r\nhello\r\n',
    'command': b'\x03EVALSHA\xffabc\xff\x00\r\n',
    'nil-array': b'*-1\r\n',
}.items():
    put('resp', name, data)

# redis_url: the URL.
for name, text in {
    'tcp': 'redis://127.0.0.1:6379/0',
    'tls-user': 'rediss://enact:s3cret@cache.internal:6380/2',
    'v6': 'redis://[::1]:6380',
    'unix': 'redis+unix:///run/redis/redis.sock?db=3',
    'unix-creds': 'unix://u:p@/tmp/r.sock',
    'percent': 'redis://:p%40ss%2Fw@h',
    'password-only': 'redis://:pw@h',
    'bad-port': 'redis://h:99999',
}.items():
    put('redis_url', name, text)
