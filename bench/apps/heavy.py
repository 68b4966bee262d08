"""A preloaded app that imports a large part of the standard library, so the
memory benchmark measures how much of it stays shared between workers."""
import argparse, ast, asyncio, base64, bz2, calendar, collections, concurrent.futures, configparser  # noqa: E401,F401
import contextlib, csv, dataclasses, datetime, decimal, difflib, email, email.mime.text, enum, fractions  # noqa: E401,F401
import ftplib, functools, gettext, glob, gzip, hashlib, heapq, hmac, html, html.parser, http.client  # noqa: E401,F401
import http.cookies, imaplib, inspect, io, ipaddress, itertools, json, locale, logging, logging.handlers  # noqa: E401,F401
import lzma, mailbox, mimetypes, multiprocessing, numbers, operator, pathlib, pickle, pkgutil, platform  # noqa: E401,F401
import plistlib, poplib, pprint, queue, random, re, sched, secrets, selectors, shelve, shlex, shutil  # noqa: E401,F401
import smtplib, socket, sqlite3, ssl, statistics, string, struct, subprocess, tarfile, tempfile  # noqa: E401,F401
import textwrap, threading, timeit, tokenize, traceback, typing, unittest, urllib.parse, urllib.request  # noqa: E401,F401
import uuid, wave, xml.dom.minidom, xml.etree.ElementTree, xml.sax, zipfile, zlib  # noqa: E401,F401

TABLE = {i: str(i) * 4 for i in range(100000)}  # app data loaded once, read by every request
BODY = b"heavy app\n"


def application(environ, start_response):
    _ = TABLE[len(environ["PATH_INFO"])]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]
