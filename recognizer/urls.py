from django.urls import path

from recognizer.web import pages

app_name = "recognizer"

urlpatterns = [
    path("draw/", pages.draw, name="draw"),
    path("history/", pages.history, name="history"),
    path("submissions/<int:submission_id>/input.png", pages.submission_input, name="submission_input"),
]
