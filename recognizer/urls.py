from django.urls import path

from recognizer.web import images, pages

app_name = "recognizer"

urlpatterns = [
    path("draw/", pages.draw, name="draw"),
    path("history/", pages.history, name="history"),
    # A submission's pictures, for its owner and staff only (the draw page's script builds the input's address).
    path("submissions/<int:submission_id>/input.png", images.submission_input, name="submission_input"),
    path("submissions/<int:submission_id>/original", images.submission_original, name="submission_original"),
]
