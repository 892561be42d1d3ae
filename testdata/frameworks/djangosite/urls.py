from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("hello/<str:name>", views.hello),
    path("query", views.query),
    path("cookie/set", views.cookie_set),
    path("cookie/get", views.cookie_get),
    path("redirect", views.go_elsewhere),
    path("error", views.error),
    path("form", views.form),
    path("upload", views.upload),
    path("stream", views.stream),
    path("stream/gated", views.stream_gated),
    path("gate/release", views.gate_release),
    path("notes/new", views.note_form),
    path("notes/", views.notes),
]
