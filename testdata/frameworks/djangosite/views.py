from django.http import (HttpResponse, HttpResponseNotAllowed, JsonResponse,
                         StreamingHttpResponse)
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

import fwcommon

from .models import Note


def text(s):
    return HttpResponse(s, content_type="text/plain")


def json(obj):
    return HttpResponse(fwcommon.dumps(obj), content_type="application/json")


def index(request):
    return text("index django\n")


def hello(request, name):
    return text("hello %s\n" % name)


def query(request):
    return json(dict(request.GET.lists()))


def cookie_set(request):
    resp = text("cookie set\n")
    resp.set_cookie("flavor", "chocolate-chip", path="/")
    return resp


def cookie_get(request):
    return json({"flavor": request.COOKIES.get("flavor")})


def go_elsewhere(request):
    return redirect("/hello/redirected")


def error(request):
    raise RuntimeError("boom from django")


# The endpoints every framework shares take POSTs without a CSRF token; /notes/ keeps it.
@csrf_exempt
def form(request):
    return json(dict(request.POST.lists()))


@csrf_exempt
def upload(request):
    f = request.FILES["file"]
    digest, size = fwcommon.sha256_stream(f)
    return json({"sha256": digest, "size": size, "filename": f.name,
                 "note": request.POST.get("note")})


def stream(request):
    n = int(request.GET.get("n", 10))

    def gen():
        yield "streaming %s\n" % request.path
        yield from fwcommon.stream_chunks(n)

    return StreamingHttpResponse(gen(), content_type="text/plain")


def stream_gated(request):
    return StreamingHttpResponse(fwcommon.gated_chunks(request.GET["key"]),
                                 content_type="text/plain")


def gate_release(request):
    return text(fwcommon.release(request.GET["key"]))


def note_form(request):
    return render(request, "note_form.html")


def notes(request):
    """GET: the notes, oldest first. POST (CSRF-protected): add one."""
    if request.method == "POST":
        note = Note.objects.create(title=request.POST["title"])
        return json({"created": note.pk, "title": note.title})
    if request.method == "GET":
        return json({"notes": list(Note.objects.order_by("pk").values_list("title", flat=True))})
    return HttpResponseNotAllowed(["GET", "POST"])
